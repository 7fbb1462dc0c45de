from django.core.management.base import BaseCommand, CommandError

from experiments.services.training import models_train
from reco_runtime.models import ALGORITHMS


class Command(BaseCommand):
    help = (
        "Train every variant's model on the stored interactions and point the variants at the new versions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm", action="append", choices=sorted(ALGORITHMS), help="Only these (repeat)."
        )
        parser.add_argument(
            "--keep-versions",
            action="store_true",
            help="Only give a version to variants that have none; leave the others where they are.",
        )
        parser.add_argument("--no-evaluate", action="store_true", help="Skip the holdout metrics (faster).")

    def handle(self, *args, algorithm, keep_versions: bool, no_evaluate: bool, **options):
        try:
            assigned = models_train(
                algorithms=algorithm,
                repoint=not keep_versions,
                evaluate=not no_evaluate,
                progress=lambda message: self.stdout.write(f"[train_models] {message}"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{len(assigned)} variants now serve new model versions."))
