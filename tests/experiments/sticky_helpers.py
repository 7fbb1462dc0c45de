"""Experiments with chosen arms and weights on the test storefront, and which arm units get."""

from experiments.models import Experiment, Posterior, Slot, Variant
from experiments.models.experiments import Status
from experiments.services.assignments import AssignmentInput, _pick
from experiments.services.experiments import ArmSpec, experiment_conclude, experiment_create, experiment_start
from experiments.serving.state import ServingState, state_load

SLOT = "pdp_similar"


def experiment_replace(
    *, key: str, fixed: list[float | None], unit: str = "session", policy: str = "fixed", **config
) -> Experiment:
    """Conclude the slot's running experiment and start ``key`` with one arm per ``fixed`` weight
    (a third and later arm get variants of their own), burn-in and floor set so they would show."""
    slot = Slot.objects.get(key=SLOT)
    for running in Experiment.objects.filter(slot=slot, status=Status.RUNNING):
        experiment_conclude(experiment=running, winner=None)
    variants = [Variant.objects.get(key=f"{SLOT}-legacy"), Variant.objects.get(key=f"{SLOT}-category")]
    for n in range(2, len(fixed)):
        variants.append(
            Variant.objects.get_or_create(
                key=f"{SLOT}-extra-{n}", slot=slot, defaults={"algorithm": "popularity"}
            )[0]
        )
    arms = [
        ArmSpec(key, variants[n], is_control=n == 0, fixed_weight=w)
        for n, (key, w) in enumerate(zip("ABCDEF", fixed, strict=False))
    ]
    config = {"burn_in": 1000, "exploration_floor": 0.3, **config}
    experiment = experiment_create(
        key=key, slot=slot, arms=arms, policy=policy, randomization_unit=unit, **config
    )
    # A fixed salt per key keeps the hash-share assertions seeded rather than a fresh draw each run.
    Experiment.objects.filter(pk=experiment.pk).update(salt=f"seeded-{key}")
    experiment.refresh_from_db()
    return experiment_start(experiment=experiment)


def posteriors_grow(experiment: Experiment, *, trials: int, rates: list[float]) -> None:
    """Give the arms ``trials`` more impressions each at these click rates (the bandit would move)."""
    for arm, rate in zip(experiment.arms.order_by("key"), rates, strict=True):
        posterior = Posterior.objects.get(arm=arm)
        posterior.trials += trials
        posterior.clicks += int(trials * rate)
        posterior.save()


def state_now() -> ServingState:
    return state_load(version=0)


def arm_keys(state: ServingState, units: list[tuple[str, str | None]]) -> list[str]:
    """The arm each (session_id, user_id) gets in the slot's experiment, through the serving pick."""
    slot = state.slots[SLOT]
    picks = []
    for session_id, user_id in units:
        data = AssignmentInput(session_id, user_id, (SLOT,), "product", None, (), None, None)
        pick = _pick(slot, data, False, "nonce")
        picks.append(next(a.key for a in slot.experiment.arms if a.id == pick.arm_id))
    return picks
