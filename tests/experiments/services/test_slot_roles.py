"""Promote sets a slot's default and never what the global holdout is served (the baseline)."""

import pytest
from django.conf import settings

from experiments.models import Experiment
from experiments.services.experiments import experiment_conclude
from experiments.services.program_settings import holdout_share_set
from experiments.serving.decision_tokens import token_verify
from tests.experiments.storefront_helpers import decisions_for


def _holdout(decision: dict) -> bool:
    return token_verify(decision["decision_id"], key=settings.DECISION_SIGNING_KEY.encode()).holdout


def _promote_the_challenger() -> None:
    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment_conclude(experiment=experiment, winner=experiment.arms.get(key="B"), promote=True)


def _served_after_a_promote(api) -> dict[bool, set[str]]:
    """Variants served on pdp_similar to 80 sessions, by holdout membership, with half in the holdout."""
    _promote_the_challenger()
    holdout_share_set(share=0.5)
    served: dict[bool, set[str]] = {True: set(), False: set()}
    for n in range(80):
        (decision,) = decisions_for(api, session_id=f"s-{n}", slots=["pdp_similar"])
        served[_holdout(decision)].add(decision["variant"])
    return served


@pytest.mark.django_db
def test_after_a_promote_the_holdout_is_still_served_the_baseline(api, storefront):
    assert _served_after_a_promote(api)[True] == {"pdp_similar-legacy"}


@pytest.mark.django_db
def test_after_a_promote_traffic_outside_the_holdout_gets_the_promoted_default(api, storefront):
    assert _served_after_a_promote(api)[False] == {"pdp_similar-category"}
