import contextlib
import threading

import pytest
from django.db import connection
from django.utils import timezone

from experiments.models import Event, Exposure
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from experiments.services import events as events_service
from experiments.services.posteriors import posteriors_update
from tests.experiments.storefront_helpers import decisions_for, event, events_post, traffic_post


@pytest.fixture
def no_enqueue(monkeypatch):
    """Leave posted events unapplied so the test decides who applies them."""
    monkeypatch.setattr(events_service, "_posterior_update_enqueue", lambda: None)


@pytest.mark.django_db
def test_running_the_update_twice_changes_nothing_the_second_time(api, storefront, rng, no_enqueue):
    traffic_post(api, storefront.catalog, rng, sessions=10)
    applied = posteriors_update().applied
    assert (
        applied
        == Event.objects.filter(decision_key__gt="").count()
        + Event.objects.filter(decision_key="", applied_at__isnull=False, event_id__startswith="e-").count()
    )
    before = posteriors_stored()
    assert posteriors_update().applied == 0
    assert posteriors_stored() == before == posteriors_recount()


@pytest.mark.django_db
def test_small_batches_give_the_same_posteriors_as_one_big_batch(api, storefront, rng, no_enqueue):
    traffic_post(api, storefront.catalog, rng, sessions=10)
    posteriors_update(batch_size=7)
    assert posteriors_stored() == posteriors_recount()
    assert (
        Exposure.objects.count()
        == Event.objects.filter(type="impression").values("decision_key").distinct().count()
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_updates_count_every_event_exactly_once(api, storefront, rng, no_enqueue):
    assert connection.vendor == "postgresql"
    traffic_post(api, storefront.catalog, rng, sessions=40)
    pending = Event.objects.filter(applied_at__isnull=True).count()
    results, errors = [], []

    def worker():
        try:
            results.append(posteriors_update(batch_size=25).applied)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(r > 0 for r in results), "every worker should have claimed some batches"
    # Outcomes held back while their session was in flight elsewhere are applied by the next run.
    leftover = posteriors_update().applied
    assert sum(results) + leftover == pending
    assert not Event.objects.filter(applied_at__isnull=True).exists()
    assert posteriors_stored() == posteriors_recount()


@pytest.mark.services
@pytest.mark.django_db
def test_the_postgresql_claim_reads_exactly_what_the_orm_reads(api, storefront, rng, no_enqueue):
    from experiments.services import posteriors

    traffic_post(api, storefront.catalog, rng, sessions=8)
    orm = list(
        Event.objects.filter(applied_at__isnull=True)
        .order_by("id")
        .values_list(*posteriors._CLAIM_FIELDS, named=True)
    )
    raw = posteriors._claim(len(orm) + 10)
    assert [tuple(row) for row in raw] == [tuple(row) for row in orm]
    assert any(row.decision for row in raw)
    assert any(row.items for row in raw)
    assert any(row.decision is None for row in raw)


def _apply_in_transaction(rows) -> list:
    """One worker's batch, as ``posteriors_update`` applies it; returns the held-back rows."""
    from django.db import transaction

    from experiments.services.posteriors import _batch_apply, _deferred_split

    with transaction.atomic():
        ready, held = _deferred_split(rows)
        _batch_apply(ready)
    return held


@pytest.mark.django_db(transaction=True)
def test_a_later_batch_applied_first_does_not_move_an_exposures_reveal(api, storefront, no_enqueue):
    """Two workers claim neighbouring batches; the one with the later events commits first.

    The session's add-to-cart falls between the impression that first quoted the decision and
    a later click quoting it again. Whichever batch reveals the exposure, it must end up
    revealed by the first quote in the ledger, or the add-to-cart is not credited to it as
    the recount credits it.
    """
    from experiments.services.posteriors import _CLAIM_FIELDS

    decision = next(d for d in decisions_for(api, session_id="s-race", k=4) if d["experiment"] and d["items"])
    first_item, second_item = (item["item_id"] for item in decision["items"][:2])
    token = decision["decision_id"]
    batch = [
        event("impression", "s-race", decision_id=token),
        event("click", "s-race", decision_id=token, item_id=first_item),
        event("add_to_cart", "s-race", item_id=first_item),
        event("click", "s-race", decision_id=token, item_id=second_item),
    ]
    assert events_post(api, batch).status_code == 202
    rows = list(
        Event.objects.filter(applied_at__isnull=True).order_by("id").values_list(*_CLAIM_FIELDS, named=True)
    )
    assert [r.type for r in rows] == ["impression", "click", "add_to_cart", "click"]

    assert _apply_in_transaction(rows[3:]) == []  # the later worker: only a quoting click
    assert Exposure.objects.get().first_event_id == rows[3].id
    assert _apply_in_transaction(rows[:3]) == []  # the earlier worker, committing second

    exposure = Exposure.objects.get()
    assert exposure.first_event_id == rows[0].id
    assert exposure.added_to_cart
    arm = exposure.arm_id
    assert posteriors_stored()[arm] == posteriors_recount()[arm]
    assert posteriors_stored()[arm]["add_to_carts"] == 1


@contextlib.contextmanager
def _post_held_open(events: list[dict]):
    """Post ``events`` from another connection and keep its transaction open (stored, ids
    drawn, not committed) until the block ends."""
    from django.db import transaction

    from experiments.services.events import events_record

    stored, release, errors = threading.Event(), threading.Event(), []

    def post():
        try:
            with transaction.atomic():
                events_record(events=events)
                stored.set()
                release.wait(10)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            stored.set()
            connection.close()

    thread = threading.Thread(target=post)
    thread.start()
    try:
        assert stored.wait(10)
        yield
    finally:
        release.set()
        thread.join()
    assert not errors


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_an_outcome_waits_while_an_earlier_post_of_its_session_is_still_being_stored(
    api, storefront, no_enqueue
):
    """Two posts for one session: the first draws the lower ids but commits after the second.

    Applied at once, the second post's add-to-cart would find no exposure to credit (the
    impression revealing it is not visible yet), while a recount of the ledger credits it.
    """
    from experiments.services.events import events_record
    from experiments.services.intake_order import intakes_in_flight, session_bucket

    assert connection.vendor == "postgresql"
    decision = next(d for d in decisions_for(api, session_id="s-late", k=4) if d["experiment"] and d["items"])
    item = decision["items"][0]["item_id"]
    with _post_held_open([event("impression", "s-late", decision_id=decision["decision_id"])]):
        assert session_bucket("s-late") in intakes_in_flight()
        assert events_record(events=[event("add_to_cart", "s-late", item_id=item)]).accepted == 1
        held = posteriors_update()
        assert (held.applied, held.deferred) == (0, 1)
    assert posteriors_update().applied == 2
    assert posteriors_stored() == posteriors_recount()
    assert Exposure.objects.get().added_to_cart


def test_an_intake_batch_takes_at_most_one_lock_per_bucket_in_a_fixed_order():
    from experiments.services.intake_order import BUCKETS, intake_buckets, session_bucket

    sessions = [f"s-{n}" for n in range(1000)]
    buckets = intake_buckets(sessions + sessions)
    assert buckets == sorted(set(buckets))
    assert BUCKETS == 64
    assert len(buckets) == BUCKETS  # 1000 sessions reach every bucket, and no more
    # The intake and the worker are different processes: the bucket is a fixed hash (blake2b),
    # never Python's per-process salted hash().
    assert session_bucket("s-1") == 48


def _connect(dbname: str):
    """A connection of its own (another backend) to ``dbname`` on the test server."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=dbname
    )


@pytest.mark.services
@pytest.mark.django_db
def test_intake_locks_of_another_database_on_the_server_hold_nothing_back():
    """Advisory locks are per database, but pg_locks lists the whole server's."""

    from experiments.services.intake_order import LOCK_SPACE, intakes_in_flight, session_bucket

    bucket = session_bucket("s-elsewhere")
    settings = connection.settings_dict
    with _connect("postgres") as other:
        other.execute("SELECT pg_advisory_lock_shared(%s, %s)", [LOCK_SPACE, bucket])
        assert bucket not in intakes_in_flight()
    with _connect(settings["NAME"]) as same:
        same.execute("SELECT pg_advisory_lock_shared(%s, %s)", [LOCK_SPACE, bucket])
        assert bucket in intakes_in_flight()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_an_intake_that_began_after_an_outcome_arrived_does_not_hold_it_back(
    api, storefront, no_enqueue, monkeypatch
):
    """Its ids are all higher, so it cannot precede the outcome; were it counted, intake that
    never pauses on a bucket would hold that bucket's outcomes back for ever."""
    from experiments.services import intake_order
    from experiments.services.events import events_record

    monkeypatch.setattr(intake_order, "GRACE_S", 0.0)
    decision = next(d for d in decisions_for(api, session_id="s-on", k=4) if d["experiment"] and d["items"])
    item = decision["items"][0]["item_id"]
    assert events_record(events=[event("impression", "s-on", decision_id=decision["decision_id"])]).accepted
    assert events_record(events=[event("add_to_cart", "s-on", item_id=item)]).accepted
    with _post_held_open([event("view", "s-on", item_id=item)]):
        assert intake_order.session_bucket("s-on") in intake_order.intakes_in_flight()
        result = posteriors_update()
        assert (result.applied, result.deferred) == (2, 0)
    assert Exposure.objects.get().added_to_cart


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_and_workers_agree_with_the_recount(api, storefront, rng, no_enqueue):
    """Each session's events in two posts sent at once from two clients (so they commit in
    either order), while two workers apply small batches: the stored posteriors equal the
    recount of the ledger, with every event applied once and no deadlock.

    The tests above pin each ordering deterministically; real timing rarely opens those
    windows (this test did not fail with the intake check removed, in six runs), so this one
    is for everything together: locks, deferrals and reveals under real concurrency."""
    from concurrent.futures import ThreadPoolExecutor

    from experiments.services.events import events_record

    assert connection.vendor == "postgresql"
    halves = []
    for n in range(24):
        session = f"s-both-{n}"
        decisions = decisions_for(api, session_id=session, k=4)
        seen, acted = [], []
        for decision in decisions:
            seen.append(event("impression", session, decision_id=decision["decision_id"]))
            for item in decision["items"][:2]:
                if rng.random() < 0.5:
                    acted.append(event("add_to_cart", session, item_id=item["item_id"]))
                if rng.random() < 0.3:
                    acted.append(event("click", session, item_id=item["item_id"]))
        halves.append((seen, acted))
    posting = threading.Event()
    posting.set()

    def post(events):
        try:
            return events_record(events=events).accepted
        finally:
            connection.close()

    def work():
        applied = 0
        try:
            while posting.is_set():
                applied += posteriors_update(batch_size=7).applied
            return applied
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        workers = [pool.submit(work) for _ in range(2)]
        with ThreadPoolExecutor(max_workers=2) as clients:
            accepted = 0
            for seen, acted in halves:  # a session's two posts race each other
                both = (clients.submit(post, seen), clients.submit(post, acted))
                accepted += sum(f.result() for f in both)
        posting.clear()
        applied = sum(w.result() for w in workers)
    applied += posteriors_update().applied
    assert applied == accepted
    assert not Event.objects.filter(applied_at__isnull=True).exists()
    assert posteriors_stored() == posteriors_recount()
    assert sum(p["add_to_carts"] for p in posteriors_stored().values()) > 0


@pytest.mark.services
@pytest.mark.django_db
def test_a_worker_role_that_cannot_see_when_intakes_began_holds_back_and_says_why(caplog, monkeypatch):
    """pg_stat_activity shows another role's transaction start only with pg_read_all_stats."""
    import uuid

    from experiments.services import intake_order

    role = f"cp_worker_{uuid.uuid4().hex[:8]}"
    bucket = intake_order.session_bucket("s-hidden")
    settings = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
    try:
        with _connect(settings["NAME"]) as intake:
            intake.execute("SELECT pg_advisory_lock_shared(%s, %s)", [intake_order.LOCK_SPACE, bucket])
            with connection.cursor() as cursor:
                cursor.execute(f"SET ROLE {role}")
            try:
                monkeypatch.setattr(intake_order, "_warned_hidden_starts", False)
                in_flight = intake_order.intakes_in_flight()
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET ROLE")
        assert in_flight[bucket] is None  # unknown start: held back, whenever the outcome came
        assert intake_order.may_precede(in_flight, "s-hidden", timezone.now())
        assert "pg_read_all_stats" in caplog.text
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP ROLE {role}")
