"""The ledger's order on PostgreSQL: clocks play no part, and an open transaction only delays."""

import contextlib
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from experiments.models import Event, Exposure
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from experiments.services import ledger_order
from experiments.services.events import events_record
from experiments.services.posteriors import posteriors_update
from tests.experiments.services.ledger_helpers import connect_other, post_held_open
from tests.experiments.storefront_helpers import decisions_for, event

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _shown(api, session: str) -> tuple[str, str]:
    """A served decision's token and its first item, for ``session``."""
    decision = next(d for d in decisions_for(api, session_id=session, k=4) if d["experiment"] and d["items"])
    return decision["decision_id"], decision["items"][0]["item_id"]


@pytest.mark.parametrize("skew_s", [-600, 600])
def test_a_web_host_whose_clock_is_ten_minutes_off_loses_and_doubles_nothing(
    api, storefront, no_enqueue, settings, skew_s
):
    """One host, its clock right, is still storing a session's impression; another, its clock
    ten minutes off, stores the session's add-to-cart and click, and a retry of them. Clocks
    decided the old order (an intake in flight held outcomes back only if it began before the
    outcome was received, by the web host's clock, plus 5 s)."""
    # The slow host must accept the storefront's timestamps at all: they are 10 minutes ahead of it.
    settings.EVENT_MAX_FUTURE_SKEW_S = 900.0
    token, item = _shown(api, "s-skew")
    outcomes = [event("add_to_cart", "s-skew", item_id=item), event("click", "s-skew", item_id=item)]
    skewed_now = datetime.now(UTC) + timedelta(seconds=skew_s)
    with post_held_open([event("impression", "s-skew", decision_id=token)]):
        assert events_record(events=outcomes, now=skewed_now).accepted == 2
        posteriors_update()
    posteriors_update()
    retry = events_record(events=outcomes, now=skewed_now + timedelta(seconds=2))
    assert (retry.accepted, retry.duplicates) == (0, 2)
    posteriors_update()

    assert Event.objects.count() == 3
    assert not Event.objects.filter(applied_at__isnull=True).exists()
    exposure = Exposure.objects.get()
    assert exposure.added_to_cart
    assert exposure.clicked
    stored = posteriors_stored()
    assert stored == posteriors_recount()
    assert (stored[exposure.arm_id]["trials"], stored[exposure.arm_id]["add_to_carts"]) == (1, 1)


@contextlib.contextmanager
def _worker_role(kind: str):
    """Run the block as the test's role, or as a role of its own without pg_read_all_stats."""
    if kind == "same":
        yield
        return
    role = f"cp_worker_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET ROLE {role}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("worker_role", ["same", "without_pg_read_all_stats"])
def test_a_long_open_transaction_delays_application_stays_exact_and_is_logged(
    api, storefront, no_enqueue, caplog, monkeypatch, worker_role
):
    """A transaction left open elsewhere (a seed, a console) holds back every event stored after
    it began, until it ends; the worker says what it waits on and for how long. No role needs
    pg_read_all_stats: without it the age is how long the worker has seen it waiting."""
    monkeypatch.setattr(ledger_order, "OLD_TRANSACTION_S", 0.5)
    monkeypatch.setattr(ledger_order, "_last_logged", {})
    token, item = _shown(api, "s-long")
    with connect_other(connection.settings_dict["NAME"]) as seed:
        seed_xid = int(seed.execute("SELECT pg_current_xact_id()").fetchone()[0])  # open, with an id
        time.sleep(0.6)
        posted = [
            event("impression", "s-long", decision_id=token),
            event("add_to_cart", "s-long", item_id=item),
            event("click", "s-long", item_id=item),
        ]
        assert events_record(events=posted).accepted == 3
        with _worker_role(worker_role):
            first = posteriors_update()
            time.sleep(0.6)
            second = posteriors_update()
        assert (first.applied, first.waiting) == (0, 3)
        assert (second.applied, second.waiting) == (0, 3)
        assert not Event.objects.filter(applied_at__isnull=False).exists()
        waits = [r.getMessage() for r in caplog.records if "waiting on an old transaction" in r.getMessage()]
        assert len(waits) == 1, caplog.text  # said once, not on every run
        assert f"xid {seed_xid} (pid {seed.info.backend_pid}, database " in waits[0]
        assert int(re.search(r"open for (\d+) s", waits[0]).group(1)) >= 1
        assert "3 events stored after it began" in waits[0]
        seed.commit()
    done = posteriors_update()
    assert (done.applied, done.waiting) == (3, 0)
    assert Exposure.objects.get().added_to_cart
    assert posteriors_stored() == posteriors_recount()


def test_an_open_transaction_in_another_database_on_the_server_holds_nothing_back(
    api, storefront, no_enqueue
):
    """Transaction ids are the server's, but a transaction in another database stores no event here."""
    token, item = _shown(api, "s-long")
    with connect_other("postgres") as elsewhere:
        elsewhere.execute("SELECT pg_current_xact_id()")  # open, with an id older than the events
        posted = [
            event("impression", "s-long", decision_id=token),
            event("click", "s-long", item_id=item),
        ]
        assert events_record(events=posted).accepted == 2
        result = posteriors_update()
        assert (result.applied, result.waiting) == (2, 0)
    assert posteriors_stored() == posteriors_recount()
