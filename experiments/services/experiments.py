"""Experiment lifecycle: draft -> running -> paused -> concluded, validated and audited."""

from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiments.models import Arm, Experiment, Posterior, Slot, Variant
from experiments.models.experiments import Status
from experiments.serving.state import serving_version_bump

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


def experiment_validate_arms(*, slot: Slot, arms: list[ArmSpec] | list[Arm]) -> None:
    if len(arms) < 2:
        raise ExperimentError("An experiment needs at least two arms.", code="too_few_arms")
    if sum(1 for a in arms if a.is_control) != 1:
        raise ExperimentError("Exactly one arm must be the control.", code="control_count")
    foreign = [a.variant.key for a in arms if a.variant.slot_id != slot.id]
    if foreign:
        raise ExperimentError(
            f"Variants {foreign} do not belong to slot {slot.key}.", code="variant_slot_mismatch"
        )
    if len({a.variant.id for a in arms}) != len(arms):
        raise ExperimentError("Each arm must serve a different variant.", code="duplicate_variant")


def experiment_create(*, key: str, slot: Slot, arms: list[ArmSpec], **config) -> Experiment:
    """Create a draft experiment with its arms."""
    experiment_validate_arms(slot=slot, arms=arms)
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
    if experiment.policy == "fixed" and all(a.fixed_weight is not None for a in arms):
        total = sum(a.fixed_weight for a in arms) or 1.0
        for arm in arms:
            arm.weight = arm.fixed_weight / total
    else:
        for arm in arms:
            arm.weight = 1.0 / len(arms)
    Arm.objects.bulk_update(arms, ["weight"])


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Start a draft: validate, create posteriors, split traffic evenly (or as fixed), publish."""
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status != Status.DRAFT:
            raise ExperimentError(
                f"Only a draft can start; this one is {experiment.status}.", code="not_draft"
            )
        arms = list(experiment.arms.select_related("variant").order_by("key"))
        experiment_validate_arms(slot=experiment.slot, arms=arms)
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


def experiment_conclude(*, experiment: Experiment, winner: Arm | None, promote: bool = False) -> Experiment:
    """Record the winner (None = inconclusive); optionally make its variant the slot's default.

    Promote never touches the slot's baseline (what the global holdout is served) or fallback.
    """
    with transaction.atomic():
        experiment = _lock(experiment)
        if experiment.status not in (Status.RUNNING, Status.PAUSED):
            raise ExperimentError("Only a running or paused experiment can conclude.", code="not_concludable")
        if winner is not None and winner.experiment_id != experiment.id:
            raise ExperimentError("The winner must be an arm of this experiment.", code="winner_not_an_arm")
        if promote and winner is None:
            raise ExperimentError("Nothing to promote without a winner.", code="promote_without_winner")
        experiment.status = Status.CONCLUDED
        experiment.winner = winner
        experiment.concluded_at = timezone.now()
        experiment.save()
        if promote:
            slot = Slot.objects.select_for_update().get(pk=experiment.slot_id)
            slot.default_variant = winner.variant
            slot.save()
        serving_version_bump()
    return experiment
