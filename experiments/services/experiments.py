"""Experiment lifecycle: draft -> running -> paused -> concluded, validated and audited."""

from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import get_text_list

from experiments.domain.assignment_layout import layout_current, layout_measures
from experiments.domain.fixed_split import fixed_split_problem, start_weights
from experiments.models import Arm, Experiment, Guardrail, Posterior, Slot, Variant
from experiments.models.experiments import Policy, Status, salt_new

from .arm_weights import arm_weights_apply
from .serving_version import serving_version_bump

# Fields that only the lifecycle steps and the allocation recompute write; no edit form may touch them.
LIFECYCLE_FIELDS = (
    "status",
    "allocation_version",
    "winner",
    "started_at",
    "concluded_at",
    "salt",
    "assignment_layout",
)


class ExperimentError(ValidationError):
    """A lifecycle or configuration rule was broken; ``code`` is stable for callers."""


@dataclass(frozen=True)
class ArmSpec:
    key: str
    variant: Variant
    is_control: bool = False
    fixed_weight: float | None = None


def experiment_validate_arms(*, slot: Slot, policy: str, arms: list[ArmSpec] | list[Arm]) -> None:
    """Raise ``ExperimentError`` (stable ``code``, a sentence for the admin) for arms that cannot run."""
    if len(arms) < 2:
        raise ExperimentError("An experiment needs at least two arms.", code="too_few_arms")
    if sum(1 for a in arms if a.is_control) != 1:
        raise ExperimentError("Exactly one arm must be the control.", code="control_count")
    foreign = [a.variant.key for a in arms if a.variant.slot_id != slot.id]
    if foreign:
        names = get_text_list(foreign, "and")
        which = f"Variant {names} does" if len(foreign) == 1 else f"Variants {names} do"
        raise ExperimentError(
            f"{which} not belong to slot {slot.key}: each arm must serve one of the slot's variants.",
            code="variant_slot_mismatch",
        )
    if len({a.variant.id for a in arms}) != len(arms):
        raise ExperimentError("Each arm must serve a different variant.", code="duplicate_variant")
    problem = fixed_split_problem(policy=policy, fixed_weights=[a.fixed_weight for a in arms])
    if problem is not None:
        code, message = problem
        raise ExperimentError(message, code=code)


def experiment_create(
    *, key: str, slot: Slot, arms: list[ArmSpec], guardrails: list[dict] | None = None, **config
) -> Experiment:
    """Create a draft experiment with its arms and guardrail rows (metric, tolerance, breach_probability)."""
    experiment_validate_arms(slot=slot, policy=config.get("policy", Policy.THOMPSON), arms=arms)
    with transaction.atomic():
        experiment = Experiment(key=key, slot=slot, status=Status.DRAFT, **config)
        experiment.full_clean()
        experiment.save()
        for spec in arms:
            Arm.objects.create(
                experiment=experiment,
                key=spec.key,
                variant=spec.variant,
                is_control=spec.is_control,
                fixed_weight=spec.fixed_weight,
            )
        for rule in guardrails or []:
            guardrail = Guardrail(experiment=experiment, **rule)
            guardrail.full_clean()
            guardrail.save()
    return experiment


def _lock(experiment: Experiment) -> Experiment:
    return Experiment.objects.select_for_update().select_related("slot").get(pk=experiment.pk)


def experiment_settings_update(*, experiment: Experiment, fields: Collection[str], status: str) -> Experiment:
    """Copy ``fields`` from ``experiment`` (an edited copy, e.g. a form's instance or a historical
    version) onto the stored row and save those fields only.

    ``status`` is the status the caller decided ``fields`` were editable at; if the experiment moved
    on meanwhile (a lifecycle step, an auto-conclude) nothing is saved. Everything else on the row,
    above all ``LIFECYCLE_FIELDS`` and a recompute's newer allocation version, is left as stored.
    """
    forbidden = sorted(set(fields) & set(LIFECYCLE_FIELDS))
    if forbidden:
        raise ExperimentError(
            f"{', '.join(forbidden)} change only through the lifecycle steps (start, pause, resume, "
            "conclude), never through an edit.",
            code="lifecycle_field",
        )
    with transaction.atomic():
        stored = _lock(experiment)
        if stored.status != status:
            raise ExperimentError(
                f"Experiment {stored.key} became {stored.status} while it was being edited; "
                "nothing was saved: reload the page and edit again.",
                code="status_changed",
            )
        attnames = [Experiment._meta.get_field(name).attname for name in fields]
        for attname in attnames:
            setattr(stored, attname, getattr(experiment, attname))
        stored.save(update_fields=attnames)
    return stored


def _initial_weights(experiment: Experiment, arms: list[Arm]) -> None:
    """A fixed split as set, else an even split; the arms side by side in the hash space."""
    weights = start_weights(policy=experiment.policy, fixed_weights=[a.fixed_weight for a in arms])
    arm_weights_apply(experiment=experiment, arms=arms, weights=weights, contiguous=True)


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Start a draft: validate, create posteriors, split traffic evenly (or as fixed), publish."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != Status.DRAFT:
            raise ExperimentError(
                f"Only a draft can start; this one is {experiment.status}.", code="not_draft"
            )
        arms = list(experiment.arms.select_related("variant").order_by("key"))
        experiment_validate_arms(slot=experiment.slot, policy=experiment.policy, arms=arms)
        other = Experiment.objects.filter(slot=experiment.slot, status=Status.RUNNING).exclude(
            pk=experiment.pk
        )
        if other.exists():
            raise ExperimentError(
                f"Slot {experiment.slot.key} already runs {other.first().key}; pause or conclude it first.",
                code="slot_busy",
            )
        for arm in arms:
            Posterior.objects.get_or_create(arm=arm)
        _initial_weights(experiment, arms)
        experiment.status = Status.RUNNING
        experiment.started_at = timezone.now()
        experiment.allocation_version += 1
        try:
            with transaction.atomic():
                experiment.save()
        except IntegrityError as exc:  # a concurrent start on the same slot won the race
            raise ExperimentError("Another experiment started on this slot.", code="slot_busy") from exc
        serving_version_bump()
    return experiment


def experiment_pause(*, experiment: Experiment) -> Experiment:
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != Status.RUNNING:
            raise ExperimentError("Only a running experiment can pause.", code="not_running")
        experiment.status = Status.PAUSED
        experiment.save()
        serving_version_bump()
    return experiment


def experiment_resume(*, experiment: Experiment) -> Experiment:
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != Status.PAUSED:
            raise ExperimentError("Only a paused experiment can resume.", code="not_paused")
        if Experiment.objects.filter(slot=experiment.slot, status=Status.RUNNING).exists():
            raise ExperimentError("Another experiment runs on this slot now.", code="slot_busy")
        experiment.status = Status.RUNNING
        experiment.save()
        serving_version_bump()
    return experiment


def experiment_rerandomize(*, experiment: Experiment, user: AbstractBaseUser | None) -> Experiment:
    """Draw every unit of a running or paused experiment again: a new salt, the arms side by side
    with their current weights, a new allocation version; audited with who did it.

    Units change arm (about ``1 - sum(weight**2)`` of them), so exposures before and after mix in
    the report; the posteriors are kept.
    """
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status not in (Status.RUNNING, Status.PAUSED):
            raise ExperimentError(
                "Only a running or paused experiment can be re-randomized.", code="not_rerandomizable"
            )
        arms = list(experiment.arms.order_by("key"))
        # Current weights as served (the layout's shares), so the split itself does not move.
        current = layout_measures(
            layout_current(experiment.assignment_layout, [a.id for a in arms], [a.weight for a in arms])
        )
        weights = [current.get(a.id, 0) for a in arms]
        experiment.salt = salt_new()
        arm_weights_apply(experiment=experiment, arms=arms, weights=weights, contiguous=True)
        experiment.allocation_version += 1
        experiment._history_user = user
        name = user.get_username() if user is not None else "the system"
        experiment._change_reason = f"Re-randomized by {name}: new salt, every unit drawn again"[:100]
        experiment.save()
        serving_version_bump()
    return experiment


# Room for the "Guardrail override: " prefix in a 100-character history change reason.
GUARDRAIL_OVERRIDE_REASON_MAX = 80


def _promote_guardrail_check(winner: Arm, override_reason: str) -> str | None:
    """The audit reason of a promote past a breached guardrail; refuses one without a reason."""
    winner.refresh_from_db(fields=["guardrail_breached_at", "guardrail_breach"])
    if winner.guardrail_breached_at is None:
        return None
    metric = (winner.guardrail_breach or {}).get("metric", "a metric")
    if not override_reason:
        raise ExperimentError(
            f"Arm {winner.key} breached its {metric} guardrail, so it cannot be promoted without an "
            "override: give the reason for promoting it anyway.",
            code="guardrail_breached",
        )
    if len(override_reason) > GUARDRAIL_OVERRIDE_REASON_MAX:
        raise ExperimentError(
            f"Keep the override reason within {GUARDRAIL_OVERRIDE_REASON_MAX} characters.",
            code="override_reason_too_long",
        )
    return f"Guardrail override: {override_reason}"


def _promote_purchases_check(experiment: Experiment, winner: Arm) -> None:
    """A revenue winner is promoted only with REVENUE_MIN_PURCHASES purchases: its order value is
    a prior until then, not a finding."""
    if experiment.reward_metric != "revenue":
        return
    posterior = Posterior.objects.filter(arm=winner).first()
    purchases = posterior.purchases if posterior else 0
    if purchases < settings.REVENUE_MIN_PURCHASES:
        raise ExperimentError(
            f"Arm {winner.key} has {purchases} purchases; a revenue winner needs at least "
            f"{settings.REVENUE_MIN_PURCHASES} (REVENUE_MIN_PURCHASES) to be promoted. Conclude "
            "without promoting, or let the experiment run.",
            code="too_few_purchases",
        )


def experiment_conclude(
    *,
    experiment: Experiment,
    winner: Arm | None,
    promote: bool = False,
    guardrail_override_reason: str = "",
) -> Experiment:
    """Record the winner (None = inconclusive); optionally make its variant the slot's default.

    Promote never touches the slot's baseline (what the global holdout is served) or fallback.
    A winner that breached a guardrail is promoted only with ``guardrail_override_reason``; the
    reason goes into the audit history of the experiment, the arm and the slot.
    """
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status not in (Status.RUNNING, Status.PAUSED):
            raise ExperimentError("Only a running or paused experiment can conclude.", code="not_concludable")
        if winner is not None and winner.experiment_id != experiment.id:
            raise ExperimentError("The winner must be an arm of this experiment.", code="winner_not_an_arm")
        if promote and winner is None:
            raise ExperimentError("Nothing to promote without a winner.", code="promote_without_winner")
        override = None
        if promote:
            _promote_purchases_check(experiment, winner)
            override = _promote_guardrail_check(winner, (guardrail_override_reason or "").strip())
        if override:
            experiment._change_reason = override
            winner._change_reason = override
            winner.save(update_fields=["guardrail_breach"])
        experiment.status = Status.CONCLUDED
        experiment.winner = winner
        experiment.concluded_at = timezone.now()
        experiment.save()
        if promote:
            slot = Slot.objects.select_for_update().get(pk=experiment.slot_id)
            slot.default_variant = winner.variant
            if override:
                slot._change_reason = override
            slot.save()
        serving_version_bump()
    return experiment
