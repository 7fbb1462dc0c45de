from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from tqdm import tqdm

from experiments.demo_summary import demo_summary_table
from experiments.selectors.leaders import slot_leaders
from experiments.services.allocations import allocations_recompute
from experiments.services.demo_world import world_load
from experiments.services.storefront_keys import storefront_key_create
from experiments.serving.runtime import serving_state
from experiments.traffic_simulation import StorefrontClient, traffic_simulate


class Command(BaseCommand):
    help = "Simulated shoppers with hidden preferences browse through the real REST API."

    def add_arguments(self, parser):
        parser.add_argument("--sessions", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--url", help="Send requests to a running server instead of in-process.")
        parser.add_argument("--key", help="Storefront API key (default: create one).")
        parser.add_argument(
            "--port", type=int, default=8000, help="The port the demo serves on (for the report URLs)."
        )
        parser.add_argument(
            "--allocate-every",
            type=int,
            default=100,
            help="Sessions between allocation recomputes when tasks run in-process.",
        )

    def handle(
        self,
        *args,
        sessions: int,
        seed: int,
        url: str | None,
        key: str | None,
        allocate_every: int,
        port: int,
        **options,
    ):
        try:
            world = world_load()
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        if key is None:
            _, key = storefront_key_create(name="simulate_traffic")
        client = StorefrontClient(key, base_url=url, django_client=None if url else Client())
        in_process = settings.CELERY_TASK_ALWAYS_EAGER

        def allocate(stats):
            # With a broker, Celery beat recomputes allocations; in-process we do the beat's job here.
            if in_process:
                allocations_recompute()

        if in_process:
            # The first request would load every model (seconds) inside the first session, and
            # the progress bar would extrapolate that session's time to all of them.
            self.stdout.write("Loading the serving state and models...")
            serving_state()
        with tqdm(total=sessions, desc="shopper sessions", unit="session", smoothing=0.1) as bar:
            stats = traffic_simulate(
                world=world,
                client=client,
                sessions=sessions,
                seed=seed,
                every=allocate_every,
                on_every=allocate,
                progress=bar,
            )
        allocate(stats)
        self.stdout.write(
            f"{stats.sessions} sessions, {stats.pages} pages ({stats.emails} emails opened), "
            f"{stats.decisions} decisions, "
            f"{stats.clicks} clicks, "
            f"{stats.purchases} purchases ({stats.revenue:,.2f} revenue), {stats.fallbacks} fallbacks"
        )
        for error in stats.errors[:5]:
            self.stderr.write(f"error: {error}")
        self.stdout.write("Leading variant per slot:")
        self.stdout.write(demo_summary_table(slot_leaders(), base_url=url or f"http://127.0.0.1:{port}"))
