from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from experiments.services.interaction_import import InteractionImportError, interactions_import

PROBLEMS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import a shop's past interactions (CSV or JSON Lines, .gz too; columns user_id, session_id, "
        "item_id, type, ts, value, event_id) to train models on. Idempotent; bad rows are reported "
        "and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, file: str, no_progress: bool, **options):
        bar = tqdm(unit=" rows", unit_scale=True, disable=no_progress, desc="import", mininterval=1.0)

        def advance(rows: int) -> None:
            bar.update(rows - bar.n)

        try:
            result = interactions_import(path=file, progress=advance)
        except FileNotFoundError as exc:
            raise CommandError(f"{file}: no such file") from exc
        except InteractionImportError as exc:
            raise CommandError(f"{file}: {exc} [{exc.code}]") from exc
        finally:
            bar.close()
        for problem in result.problems[:PROBLEMS_SHOWN]:
            self.stderr.write(f"line {problem.line}: {problem.field}: {problem.code}: {problem.message}")
        if result.rejected > PROBLEMS_SHOWN:
            self.stderr.write(f"... and {result.rejected - PROBLEMS_SHOWN} more rejected rows")
        self.stdout.write(self.style.SUCCESS(result.summary))
