import contextlib
import gc
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from experiments.services.catalog_import import CatalogFileError, catalog_import

SHOWN_REJECTIONS = 50


@contextlib.contextmanager
def _few_collections():
    """A million rows allocate tens of millions of short-lived objects: keep the collector's
    full passes off the objects that exist already and make its young passes rarer; then put
    things back (the command also runs inside other processes, e.g. tests)."""
    thresholds = gc.get_threshold()
    was_frozen = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not was_frozen:
            gc.unfreeze()


class Command(BaseCommand):
    help = (
        "Upsert a shop's catalog by item_id from a CSV (with a header) or JSON Lines file, gzip too. "
        "Columns: item_id, title, description, category, brand, price, currency, available, attributes, "
        "image_url, created_at (item_id, title and price required)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="catalog.csv, catalog.jsonl, or either with .gz")
        parser.add_argument(
            "--full",
            action="store_true",
            help="The file is the whole catalog: mark items missing from it unavailable (never deletes).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, file: str, full: bool, dry_run: bool, no_progress: bool, **options):
        path = Path(file)
        size = path.stat().st_size if path.is_file() else None
        # Over the bytes read (of the compressed file for .gz): rows are not known before the end.
        bar = tqdm(
            total=size, desc="import_catalog", unit="B", unit_scale=True, disable=no_progress, mininterval=1.0
        )
        try:
            with _few_collections():
                summary = catalog_import(path=file, full=full, dry_run=dry_run, read_bytes=bar.update)
        except CatalogFileError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        finally:
            bar.close()
        for r in summary.rejections[:SHOWN_REJECTIONS]:
            item = f" (item {r.item_id})" if r.item_id else ""
            self.stderr.write(f"line {r.position}: {r.field}: {r.code}{item}")
        if summary.rejected > SHOWN_REJECTIONS:
            by_code = ", ".join(f"{code} {n}" for code, n in summary.rejected_by_code.most_common())
            self.stderr.write(f"... {summary.rejected - SHOWN_REJECTIONS} more rejected rows ({by_code})")
        counts = summary.as_dict()
        line = ", ".join(f"{name.replace('_', ' ')} {counts[name]}" for name in list(counts)[:5])
        prefix = "dry run, nothing written: " if dry_run else ""
        self.stdout.write(f"{prefix}{line}")
        if not summary.changed:
            self.stdout.write(self.style.SUCCESS("The catalog already matches the file: nothing changed."))
