"""Promote in the admin, then real storefront traffic: the global holdout still sees every slot's baseline.

PostgreSQL, Redis and a real Celery worker: the storefront asks the REST API for decisions and posts
their impressions, the worker turns them into exposures, and the program report reads those.
"""

import math
import time

import pytest
from django.conf import settings
from django.db import connection

from experiments.models import Event, Experiment, Exposure, ProgramSettings, Slot
from experiments.models.experiments import Status
from experiments.serving.decision_tokens import token_verify
from tests.experiments.roles import role_client
from tests.experiments.storefront_helpers import decisions_for, event, events_post

SESSIONS = 2_000
PROMOTED_SLOT = "pdp_similar"
APPLY_TIMEOUT_S = 180.0


def _conclude_with_promote_in_the_admin() -> None:
    merchandiser = role_client("mia", "merchandiser")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    winner = experiment.arms.get(key="B")
    url = f"/admin/experiments/experiment/{experiment.pk}/lifecycle/conclude/"
    assert merchandiser.post(url, {"winner": winner.pk, "promote": "on"}).status_code == 302
    experiment.refresh_from_db()
    assert experiment.status == Status.CONCLUDED
    slot = Slot.objects.get(key=PROMOTED_SLOT)
    assert slot.default_variant.key == "pdp_similar-category"
    assert slot.baseline_variant.key == "pdp_similar-legacy"


def _wait_until_applied(worker, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
        if not Event.objects.filter(applied_at__isnull=True).exists():
            return
        time.sleep(0.25)
    raise AssertionError("the worker did not apply the impressions in time")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_after_a_promote_the_holdout_sees_each_slots_baseline_end_to_end(
    api, storefront, rng, celery_worker_process
):
    assert connection.vendor == "postgresql"
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    _conclude_with_promote_in_the_admin()
    baselines = dict(Slot.objects.filter(page="product").values_list("key", "baseline_variant__key"))
    signing_key = settings.DECISION_SIGNING_KEY.encode()
    item_ids = storefront.catalog.item_ids

    served: dict[str, tuple[str, bool]] = {}  # decision key -> (variant, holdout)
    holdout_sessions = 0
    # Exposures are stamped in whole seconds: start serving in the second after the storefront's
    # baselines were set, or the report counts that setting as a change within its data.
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    for n in range(SESSIONS):
        session_id = f"e2e-{n}"
        product = str(item_ids[rng.integers(len(item_ids))])
        decisions = decisions_for(api, session_id=session_id, context={"product_id": product}, k=4)
        assert len(decisions) == len(baselines)
        in_holdout = {token_verify(d["decision_id"], key=signing_key).holdout for d in decisions}
        assert len(in_holdout) == 1, "holdout is per shopper: all of a page's slots or none"
        holdout = in_holdout.pop()
        holdout_sessions += holdout
        for d in decisions:
            payload = token_verify(d["decision_id"], key=signing_key)
            served[payload.decision_key] = (d["variant"], holdout)
            if holdout:
                assert d["variant"] == baselines[d["slot"]], d
                assert d["experiment"] is None
            elif d["slot"] == PROMOTED_SLOT:
                assert d["variant"] == "pdp_similar-category", d
                assert d["experiment"] is None
            else:
                assert d["experiment"] is not None, d
        batch = [event("impression", session_id, decision_id=d["decision_id"]) for d in decisions]
        response = events_post(api, batch)
        assert response.status_code == 202, response.content
        assert response.json()["accepted"] == len(batch), response.content

    share = ProgramSettings.load().holdout_share
    standard_error = math.sqrt(SESSIONS * share * (1 - share))
    assert abs(holdout_sessions - SESSIONS * share) < 3 * standard_error
    _wait_until_applied(celery_worker_process, APPLY_TIMEOUT_S)

    # The report's statement: what the holdout saw is each slot's baseline, the one the report names.
    report = role_client("ana", "analyst").get("/api/v1/program/report").json()
    named = {b["slot"]: b["variant"] for b in report["baselines"]}
    assert {k: named[k] for k in baselines} == baselines
    assert report["baseline_changes"] == []
    holdout_decisions = sum(1 for _, holdout in served.values() if holdout)
    assert report["decisions"] == {"holdout": holdout_decisions, "program": len(served) - holdout_decisions}
    slot_keys = dict(Slot.objects.values_list("id", "key"))
    holdout_rows = Exposure.objects.filter(holdout=True).values_list("decision_key", "slot_id")
    seen = {(slot_keys[slot_id], served[key][0]) for key, slot_id in holdout_rows}
    assert seen == {(slot, named[slot]) for slot in baselines}
    program_rows = Exposure.objects.filter(
        holdout=False, slot_id__in=[k for k, v in slot_keys.items() if v == PROMOTED_SLOT]
    )
    assert {served[key][0] for key in program_rows.values_list("decision_key", flat=True)} == {
        "pdp_similar-category"
    }
