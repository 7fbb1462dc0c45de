"""Per-unit counts of session and user experiments: kept exactly once, beside the arm posteriors."""

import numpy as np
import pytest
from django.db.models import Count, Q

from bandits.clustered import ClusterSums
from experiments.models import Event, Experiment, Exposure, Posterior, UnitStatistics
from experiments.models.posteriors import UNIT_OUTCOMES
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from experiments.services import events as events_service
from experiments.services import posteriors as posteriors_service
from experiments.services.posteriors import posteriors_update
from tests.experiments.storefront_helpers import decisions_for, event, events_post

FLAGS = {"clicks": "clicked", "add_to_carts": "added_to_cart", "purchases": "purchased"}


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr(events_service, "_posterior_update_enqueue", lambda: None)


def _sessions_post(api, rng, *, sessions: int, pages: int, user_of=None) -> None:
    """Each session views ``pages`` pages and clicks with its own propensity: correlated clicks."""
    for s in range(sessions):
        session_id = f"s-{s}-{rng.integers(1_000_000)}"
        who = {"user_id": user_of(s)} if user_of else {}
        propensity = rng.beta(0.5, 2.0)
        batch = []
        for _ in range(pages):
            for decision in decisions_for(api, session_id=session_id, **who):
                batch.append(event("impression", session_id, decision_id=decision["decision_id"], **who))
                if rng.random() < propensity:
                    item = decision["items"][0]["item_id"]
                    batch.append(
                        event("click", session_id, decision_id=decision["decision_id"], item_id=item, **who)
                    )
        assert events_post(api, batch).status_code == 202


def _units_from_exposures() -> dict[tuple[int, str], tuple[int, ...]]:
    """(arm, unit) -> (trials, clicks, add_to_carts, purchases) straight from the exposure log."""
    rows = (
        Exposure.objects.filter(arm_id__isnull=False)
        .exclude(unit="")
        .values("arm_id", "unit")
        .annotate(trials=Count("id"), **{k: Count("id", filter=Q(**{f: True})) for k, f in FLAGS.items()})
    )
    return {(r["arm_id"], r["unit"]): (r["trials"], *(r[k] for k in FLAGS)) for r in rows}


def _assert_sums_match_the_exposure_log() -> None:
    expected = _units_from_exposures()
    stored = {
        (u.arm_id, u.unit): (u.trials, u.clicks, u.add_to_carts, u.purchases)
        for u in UnitStatistics.objects.all()
    }
    assert stored == expected
    assert any(counts[0] > 1 for counts in expected.values()), "sessions must show several decisions"
    for posterior in Posterior.objects.filter(trials__gt=0):
        units = [counts for (arm, _), counts in expected.items() if arm == posterior.arm_id]
        n = np.array([u[0] for u in units])
        assert posterior.units == len(units)
        assert posterior.trials == n.sum()
        for j, outcome in enumerate(UNIT_OUTCOMES, start=1):
            sums = ClusterSums.from_units(np.zeros(len(n)), n, [u[j] for u in units], n_arms=1)
            assert posterior.trials_sq_sum == sums.trials_sq[0]
            assert getattr(posterior, f"{outcome}_sq_sum") == sums.successes_sq[0]
            assert getattr(posterior, f"{outcome}_cross_sum") == sums.cross[0]


@pytest.mark.django_db
def test_unit_totals_follow_the_exposure_log_in_small_batches_and_a_rerun_adds_nothing(
    api, storefront, rng, no_enqueue
):
    _sessions_post(api, rng, sessions=12, pages=3)
    posteriors_update(batch_size=9)
    _assert_sums_match_the_exposure_log()
    before = posteriors_stored()
    assert posteriors_update().applied == 0
    assert posteriors_stored() == before == posteriors_recount()


@pytest.mark.django_db
def test_a_user_experiment_counts_a_user_s_sessions_as_one_unit_and_a_request_one_keeps_none(
    api, storefront, rng, no_enqueue
):
    experiments = list(Experiment.objects.order_by("key"))
    user_experiment, request_experiment = experiments[0], experiments[1]
    Experiment.objects.filter(id=user_experiment.id).update(randomization_unit="user")
    Experiment.objects.filter(id=request_experiment.id).update(randomization_unit="request")
    _sessions_post(api, rng, sessions=8, pages=2, user_of=lambda s: f"u-{s % 3}")
    posteriors_update()
    user_units = set(
        UnitStatistics.objects.filter(arm__experiment=user_experiment).values_list("unit", flat=True)
    )
    assert user_units
    assert user_units <= {"u-0", "u-1", "u-2"}
    assert not UnitStatistics.objects.filter(arm__experiment=request_experiment).exists()
    assert not Posterior.objects.filter(arm__experiment=request_experiment, units__gt=0).exists()
    assert Posterior.objects.filter(arm__experiment=request_experiment, trials__gt=0).exists()
    assert posteriors_stored() == posteriors_recount()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_retried_update_counts_each_unit_once(api, storefront, rng, no_enqueue, monkeypatch):
    """The update dies after writing the unit totals, before marking its events applied: the
    transaction rolls the totals back with everything else, and the retry counts them once."""
    _sessions_post(api, rng, sessions=10, pages=3)
    real_mark = posteriors_service._events_mark_applied
    calls = {"n": 0}

    def dies_on_the_second_batch(ids):
        calls["n"] += 1
        if calls["n"] == 2:
            assert UnitStatistics.objects.exists()  # the unit totals were written in this transaction
            raise RuntimeError("worker lost mid-batch")
        real_mark(ids)

    monkeypatch.setattr(posteriors_service, "_events_mark_applied", dies_on_the_second_batch)
    with pytest.raises(RuntimeError, match="mid-batch"):
        posteriors_update(batch_size=20)
    assert Event.objects.filter(applied_at__isnull=True).exists()
    monkeypatch.setattr(posteriors_service, "_events_mark_applied", real_mark)
    posteriors_update(batch_size=20)
    posteriors_update(batch_size=20)  # a retry after success finds nothing to count again
    assert not Event.objects.filter(applied_at__isnull=True).exists()
    _assert_sums_match_the_exposure_log()
    assert posteriors_stored() == posteriors_recount()


@pytest.mark.django_db
def test_the_migration_fills_in_the_unit_sums_of_exposures_applied_before_it(
    api, storefront, rng, no_enqueue
):
    import importlib

    from django.apps import apps as django_apps

    from experiments.models.posteriors import CLUSTER_FIELDS

    _sessions_post(api, rng, sessions=8, pages=3)
    posteriors_update()
    kept = posteriors_stored()
    UnitStatistics.objects.all().delete()
    Posterior.objects.update(**dict.fromkeys(CLUSTER_FIELDS, 0))
    Exposure.objects.update(unit="")
    migration = importlib.import_module("experiments.migrations.0010_clustered_units")
    migration.unit_statistics_backfill(django_apps, None)
    assert posteriors_stored() == kept
    _assert_sums_match_the_exposure_log()
