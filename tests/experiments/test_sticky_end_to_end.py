"""A fixed 90/10 split with session units on the real stack: the split holds, and sessions keep their arm."""

import math

import pytest
from django.db import connection

from experiments.models import Arm, Posterior, ProgramSettings
from experiments.services.allocations import allocations_recompute
from experiments.serving.runtime import serving_state
from tests.experiments.sticky_helpers import SLOT, experiment_replace
from tests.experiments.storefront_helpers import decisions_for, event, events_post
from tests.experiments.test_end_to_end import _wait_until_applied

SESSIONS = 600
ROUNDS = 3
CLICK_RATE = {f"{SLOT}-legacy": 0.02, f"{SLOT}-category": 0.3}  # a bandit would move to B
PROPENSITY = {f"{SLOT}-legacy": 0.9, f"{SLOT}-category": 0.1}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_fixed_split_holds_and_sessions_keep_their_arm_through_recomputes(
    api, storefront, rng, celery_worker_process, settings
):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    assert connection.vendor == "postgresql"
    ProgramSettings.objects.update(holdout_share=0.0)
    experiment = experiment_replace(key="e2e-fixed-90-10", fixed=[0.9, 0.1], unit="session")
    products = [str(p) for p in storefront.catalog.item_ids]
    arms_seen: dict[str, set[str]] = {}
    served = {variant: 0 for variant in CLICK_RATE}
    versions = []
    for _ in range(ROUNDS):
        batch = []
        for n in range(SESSIONS):
            session_id = f"e2e-s-{n}"
            product = products[rng.integers(len(products))]
            (decision,) = decisions_for(
                api, session_id=session_id, slots=[SLOT], context={"product_id": product}, k=4
            )
            assert decision["experiment"] == experiment.key
            assert decision["propensity"] == PROPENSITY[decision["variant"]]
            arms_seen.setdefault(session_id, set()).add(decision["variant"])
            served[decision["variant"]] += 1
            batch.append(event("impression", session_id, decision_id=decision["decision_id"]))
            if decision["items"] and rng.random() < CLICK_RATE[decision["variant"]]:
                item = decision["items"][0]["item_id"]
                batch.append(event("click", session_id, decision_id=decision["decision_id"], item_id=item))
        for start in range(0, len(batch), 1000):
            response = events_post(api, batch[start : start + 1000])
            assert response.status_code == 202, response.content
            assert not response.json()["rejected"], response.content
        _wait_until_applied(celery_worker_process)
        allocations_recompute(experiment_ids=[experiment.id])
        weights = Arm.objects.filter(experiment=experiment).order_by("key").values_list("weight", flat=True)
        assert list(weights) == pytest.approx([0.9, 0.1], abs=1e-9)
        versions.append(serving_state().slots[SLOT].experiment.allocation_version)
    assert versions == sorted(set(versions)), "web did not pick up each recompute"
    trials = dict(Posterior.objects.filter(arm__experiment=experiment).values_list("arm__key", "trials"))
    assert trials["A"] + trials["B"] == SESSIONS * ROUNDS  # the worker applied every impression
    assert all(len(seen) == 1 for seen in arms_seen.values()), "a session changed arm"
    share = served[f"{SLOT}-category"] / (SESSIONS * ROUNDS)
    # Sessions keep their arm, so the split is measured on SESSIONS independent draws.
    assert abs(share - 0.1) <= 3 * math.sqrt(0.1 * 0.9 / SESSIONS), served
