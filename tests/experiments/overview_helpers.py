"""Experiments with hand-written allocation snapshots, for the experiment list tests."""

from django.utils import timezone

from experiments.models import PosteriorSnapshot
from tests.factories import ArmFactory, ExperimentFactory, VariantFactory

KEEP_GOING = {
    "stop": False,
    "reason": "continue",
    "winner": None,
    "inconclusive": False,
    "guardrail_breached": False,
}
READY = {
    "stop": True,
    "reason": "confident",
    "winner": "B",
    "inconclusive": False,
    "guardrail_breached": False,
}


def snapshot_arm(
    arm: str, variant: str, *, trials: int, prob_best: float, weight: float, uplift=None
) -> dict:
    low, high = (None, None) if uplift is None else (uplift - 0.05, uplift + 0.05)
    return {
        "arm": arm,
        "variant": variant,
        "control": arm == "A",
        "trials": trials,
        "successes": trials // 20,
        "prob_best": prob_best,
        "expected_loss": 0.001,
        "weight": weight,
        "uplift": uplift,
        "uplift_ci_low": low,
        "uplift_ci_high": high,
        "prob_beats_control": None if uplift is None else 0.9,
    }


def experiment_with_snapshot(
    key: str,
    *,
    status: str = "running",
    policy: str = "thompson",
    trials=(1000, 1000),
    prob_best=(0.44, 0.56),
    weights=(0.45, 0.55),
    stopping=None,
    fixed_weights=(None, None),
    breached: str | None = None,
):
    """A two-arm experiment (A control with variant ``<key>-a``, B with ``<key>-b``) and one snapshot."""
    experiment = ExperimentFactory(key=key, status=status, policy=policy, allocation_version=1)
    for arm_key, weight, fixed in zip("AB", weights, fixed_weights, strict=True):
        ArmFactory(
            experiment=experiment,
            key=arm_key,
            is_control=arm_key == "A",
            weight=weight,
            fixed_weight=fixed,
            variant=VariantFactory(key=f"{key}-{arm_key.lower()}", slot=experiment.slot),
            guardrail_breached_at=timezone.now() if breached == arm_key else None,
            guardrail_breach={"metric": "click"} if breached == arm_key else None,
        )
    PosteriorSnapshot.objects.create(
        experiment=experiment,
        allocation_version=1,
        arms=[
            snapshot_arm("A", f"{key}-a", trials=trials[0], prob_best=prob_best[0], weight=weights[0]),
            snapshot_arm(
                "B", f"{key}-b", trials=trials[1], prob_best=prob_best[1], weight=weights[1], uplift=0.12
            ),
        ],
        stopping=stopping if stopping is not None else KEEP_GOING,
    )
    return experiment
