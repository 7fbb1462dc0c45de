from django.core.management.base import BaseCommand, CommandError

from experiments.services.demo_world import demo_seed


class Command(BaseCommand):
    help = "Seed the demo storefront: catalog, history, slots, variants, trained models, running experiments."

    def add_arguments(self, parser):
        parser.add_argument("--items", type=int, default=20_000, help="Catalog size (default 20000).")
        parser.add_argument("--users", type=int, default=None, help="Known shoppers (default items / 4).")
        parser.add_argument("--sessions", type=int, default=None, help="Past sessions (default items).")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, items: int, users: int | None, sessions: int | None, seed: int, **options):
        if items < 50:
            raise CommandError("--items must be at least 50")
        result = demo_seed(
            n_items=items,
            n_users=users or max(items // 4, 50),
            n_sessions=sessions or items,
            seed=seed,
            say=lambda message: self.stdout.write(f"[seed_demo] {message}"),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result['items']} items, {result['events']} history events, "
                f"{len(result['experiments'])} running experiments."
            )
        )
