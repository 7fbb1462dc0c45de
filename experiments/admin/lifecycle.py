"""Lifecycle steps as admin actions: a confirmation page that says what will change, then the service.

The services in ``experiments.services.experiments`` do the work and the checks; this module only
describes the change, asks for confirmation and records a readable reason in the audit history.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.utils import update_change_reason

from experiments.domain.fixed_split import start_weights
from experiments.domain.lifecycle_steps import STEPS
from experiments.models import Experiment, ProgramSettings, Slot
from experiments.models.experiments import Status
from experiments.selectors.admin_overview import leading_arm
from experiments.services.experiments import (
    ExperimentError,
    experiment_conclude,
    experiment_pause,
    experiment_rerandomize,
    experiment_resume,
    experiment_start,
)

from .experiment_forms import ConcludeForm

STEP_LABELS = {"rerandomize": "Re-randomize"}


def step_label(step: str) -> str:
    """The step as a merchandiser reads it on buttons and titles."""
    return STEP_LABELS.get(step, step.capitalize())


def _split_words(experiment: Experiment, *, at_start: bool) -> list[str]:
    """Each arm's share: at start a fixed split as set or an even one (the rule of ``fixed_split``),
    later the arm's current weight."""
    holdout = ProgramSettings.load().holdout_share
    arms = list(experiment.arms.select_related("variant").order_by("key"))
    shares = [a.weight for a in arms]
    if at_start:
        shares = start_weights(policy=experiment.policy, fixed_weights=[a.fixed_weight for a in arms])
    return [
        f"Arm {arm.key} ({arm.variant.key}) gets {share:.1%} of the experiment's traffic, "
        f"{share * (1 - holdout):.1%} of all shoppers after the {holdout:.0%} global holdout."
        for arm, share in zip(arms, shares, strict=True)
    ]


def _rerandomize_words(experiment: Experiment) -> list[str]:
    redrawn = (
        "Each request is drawn on its own already (request units), so only the salt changes."
        if experiment.randomization_unit == "request"
        else f"Every {experiment.randomization_unit} unit is drawn again with a new salt: about "
        f"{1 - sum(a.weight**2 for a in experiment.arms.all()):.0%} of them change arm, including "
        "shoppers who have already seen an arm."
    )
    return [
        f"Status stays {experiment.status}; the arms keep their current weights:",
        *_split_words(experiment, at_start=False),
        redrawn,
        "Reports then mix exposures from before and after: shoppers who saw one arm may now see "
        "another, which blurs the difference between arms. Prefer a new experiment unless the "
        "assignment itself is suspect.",
        "The change is recorded in the experiment's history with your name.",
    ]


def slot_role_words(slot: Slot) -> tuple[str, str, str]:
    """The slot's baseline, default and fallback by name, saying when a blank role means the baseline."""
    baseline = slot.baseline_variant.key if slot.baseline_variant else "no variant (no items)"
    default = slot.default_variant.key if slot.default_variant else f"{baseline} (blank: the baseline)"
    fallback = slot.fallback_variant.key if slot.fallback_variant else f"{baseline} (blank: the baseline)"
    return baseline, default, fallback


def step_changes(step: str, experiment: Experiment) -> list[str]:
    """What the step will change, in words, for the confirmation page."""
    if step == "rerandomize":
        return _rerandomize_words(experiment)
    slot = experiment.slot
    baseline, default, fallback = slot_role_words(slot)
    holdout = f"{ProgramSettings.load().holdout_share:.0%}"
    changes = [f"Status: {experiment.status} → {'running' if step in ('start', 'resume') else step + 'd'}."]
    if step == "start":
        changes[0] = "Status: draft → running."
        changes.append(
            f"Slot {slot.key} stops serving its default variant {default} outside the holdout and splits "
            "that traffic:"
        )
        changes += _split_words(experiment, at_start=True)
    elif step == "pause":
        changes.append(
            f"Slot {slot.key} serves its default variant {default} to everyone outside the holdout until "
            "resumed."
        )
    elif step == "resume":
        changes.append(f"Slot {slot.key} returns to the experiment's current weights:")
        changes += _split_words(experiment, at_start=False)
    else:
        changes[0] = f"Status: {experiment.status} → concluded; the winner you pick is recorded."
        changes.append(
            f"With promote, slot {slot.key}'s default variant changes from {default} to the winner's "
            "variant: what shoppers outside the holdout get from now on."
        )
        changes.append(
            f"Promote does not change the baseline {baseline} (what the {holdout} global holdout is served "
            f"and what program uplift compares against) nor the fallback {fallback}."
        )
        changes.append(f"Without promote, slot {slot.key} goes back to serving its default {default}.")
    if step != "conclude":
        changes.append(f"The {holdout} global holdout keeps being served the baseline {baseline}.")
    return changes


def slot_conflicts(step: str, experiment: Experiment) -> tuple[Experiment | None, list[Experiment]]:
    """For start and resume: the other experiment running on the slot (the service refuses the step
    while there is one: one running experiment per slot, and it never stops the other for you), and
    the paused ones, which cannot resume while this one runs."""
    if step not in ("start", "resume"):
        return None, []
    others = list(
        Experiment.objects.filter(slot_id=experiment.slot_id, status__in=(Status.RUNNING, Status.PAUSED))
        .exclude(pk=experiment.pk)
        .order_by("key")
    )
    running = next((e for e in others if e.status == Status.RUNNING), None)
    return running, [e for e in others if e.status == Status.PAUSED]


class LifecycleAdminMixin:
    """Adds /<id>/lifecycle/<step>/ views and changelist actions that lead to them."""

    actions = ("action_start", "action_pause", "action_resume", "action_conclude", "action_rerandomize")

    def get_urls(self):
        view = self.admin_site.admin_view(self.lifecycle_view)
        extra = [
            path("<path:object_id>/lifecycle/<str:step>/", view, name="experiments_experiment_lifecycle")
        ]
        return extra + super().get_urls()

    def _run_step(self, request, experiment: Experiment, step: str, form) -> Experiment:
        if step == "start":
            done = experiment_start(experiment=experiment)
        elif step == "pause":
            done = experiment_pause(experiment=experiment)
        elif step == "resume":
            done = experiment_resume(experiment=experiment)
        elif step == "rerandomize":
            return experiment_rerandomize(experiment=experiment, user=request.user)  # audits itself
        else:
            winner, promote = form.cleaned_data["winner"], form.cleaned_data["promote"]
            override = form.override_reason() if promote else ""
            done = experiment_conclude(
                experiment=experiment, winner=winner, promote=promote, guardrail_override_reason=override
            )
            if override:  # the service recorded "Guardrail override: <reason>" on the slot and arm
                who = request.user.get_username()
                update_change_reason(done, f"Guardrail override by {who}: {override}"[:100])
                return done
            if promote:
                update_change_reason(done.slot, f"Promoted {winner.variant.key} from {done.key}"[:100])
        update_change_reason(done, f"{step.capitalize()} by {request.user.get_username()} in the admin"[:100])
        return done

    def lifecycle_view(self, request, object_id: str, step: str):
        experiment = get_object_or_404(
            Experiment.objects.select_related(
                "slot__default_variant", "slot__baseline_variant", "slot__fallback_variant"
            ),
            pk=object_id,
        )
        if step not in STEPS:
            raise PermissionDenied(f"Unknown lifecycle step {step!r}.")
        # The role's permission: a concluded experiment is view-only, and says so below.
        if not self.has_change_permission(request):
            raise PermissionDenied("Only merchandisers can change an experiment's lifecycle.")
        change_url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
        if experiment.status not in STEPS[step]:
            self.message_user(
                request, f"Cannot {step} an experiment that is {experiment.status}.", messages.ERROR
            )
            return redirect(change_url)
        form = None
        if step == "conclude":
            leader = leading_arm(experiment)
            initial = {"winner": leader.pk if leader else None}
            form = ConcludeForm(request.POST or None, experiment=experiment, initial=initial)
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                self._run_step(request, experiment, step, form)
            except ExperimentError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"Experiment {experiment.key}: {step} done.", messages.SUCCESS)
            return redirect(change_url)
        running, paused = slot_conflicts(step, experiment)
        context = {
            **self.admin_site.each_context(request),
            "running_on_slot": running,
            "paused_on_slot": paused,
            "opts": self.opts,
            "title": f"{step_label(step)} experiment {experiment.key}?",
            "experiment": experiment,
            "step": step,
            "step_label": step_label(step),
            "changes": step_changes(step, experiment),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/experiments/experiment/lifecycle_confirm.html", context)

    def _single(self, request, queryset, step: str):
        if queryset.count() != 1:
            self.message_user(request, "Pick exactly one experiment for a lifecycle step.", messages.WARNING)
            return None
        url = reverse("admin:experiments_experiment_lifecycle", args=[queryset.first().pk, step])
        return redirect(url)

    def action_start(self, request, queryset):
        return self._single(request, queryset, "start")

    def action_pause(self, request, queryset):
        return self._single(request, queryset, "pause")

    def action_resume(self, request, queryset):
        return self._single(request, queryset, "resume")

    def action_conclude(self, request, queryset):
        return self._single(request, queryset, "conclude")

    def action_rerandomize(self, request, queryset):
        return self._single(request, queryset, "rerandomize")

    action_start.short_description = "Start the selected experiment…"
    action_start.allowed_permissions = ("change",)
    action_pause.short_description = "Pause the selected experiment…"
    action_pause.allowed_permissions = ("change",)
    action_resume.short_description = "Resume the selected experiment…"
    action_resume.allowed_permissions = ("change",)
    action_conclude.short_description = "Conclude the selected experiment…"
    action_conclude.allowed_permissions = ("change",)
    action_rerandomize.short_description = "Re-randomize the selected experiment's units…"
    action_rerandomize.allowed_permissions = ("change",)
