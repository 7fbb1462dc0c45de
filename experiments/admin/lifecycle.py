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

from experiments.models import Experiment, ProgramSettings
from experiments.models.experiments import Status
from experiments.selectors.admin_overview import leading_arm
from experiments.services.experiments import (
    ExperimentError,
    experiment_conclude,
    experiment_pause,
    experiment_resume,
    experiment_start,
)

from .experiment_forms import ConcludeForm

STEPS = {
    "start": (Status.DRAFT,),
    "pause": (Status.RUNNING,),
    "resume": (Status.PAUSED,),
    "conclude": (Status.RUNNING, Status.PAUSED),
}


def _split_words(experiment: Experiment, *, even: bool) -> list[str]:
    holdout = ProgramSettings.load().holdout_share
    arms = list(experiment.arms.select_related("variant").order_by("key"))
    lines = []
    for arm in arms:
        if even:
            share = 1.0 / len(arms)
            if experiment.policy == "fixed" and all(a.fixed_weight is not None for a in arms):
                share = arm.fixed_weight / (sum(a.fixed_weight for a in arms) or 1.0)
        else:
            share = arm.weight
        lines.append(
            f"Arm {arm.key} ({arm.variant.key}) gets {share:.1%} of the experiment's traffic, "
            f"{share * (1 - holdout):.1%} of all shoppers after the {holdout:.0%} global holdout."
        )
    return lines


def step_changes(step: str, experiment: Experiment) -> list[str]:
    """What the step will change, in words, for the confirmation page."""
    slot = experiment.slot
    default = slot.serving_default.key if slot.serving_default else "no variant"
    changes = [f"Status: {experiment.status} → {'running' if step in ('start', 'resume') else step + 'd'}."]
    if step == "start":
        changes[0] = "Status: draft → running."
        changes.append(f"Slot {slot.key} stops serving {default} by default and splits its traffic:")
        changes += _split_words(experiment, even=True)
    elif step == "pause":
        changes.append(f"Slot {slot.key} serves its default variant {default} to everyone until resumed.")
    elif step == "resume":
        changes.append(f"Slot {slot.key} returns to the experiment's current weights:")
        changes += _split_words(experiment, even=False)
    else:
        changes[0] = f"Status: {experiment.status} → concluded; the winner you pick is recorded."
        changes.append(
            f"With promote, slot {slot.key}'s default variant changes from {default} to the winner's."
        )
        changes.append(f"Without promote, slot {slot.key} goes back to serving {default}.")
    return changes


class LifecycleAdminMixin:
    """Adds /<id>/lifecycle/<step>/ views and changelist actions that lead to them."""

    actions = ("action_start", "action_pause", "action_resume", "action_conclude")

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
            Experiment.objects.select_related("slot__default_variant", "slot__baseline_variant"), pk=object_id
        )
        if step not in STEPS:
            raise PermissionDenied(f"Unknown lifecycle step {step!r}.")
        if not self.has_change_permission(request, experiment):
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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{step.capitalize()} experiment {experiment.key}?",
            "experiment": experiment,
            "step": step,
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

    action_start.short_description = "Start the selected experiment…"
    action_start.allowed_permissions = ("change",)
    action_pause.short_description = "Pause the selected experiment…"
    action_pause.allowed_permissions = ("change",)
    action_resume.short_description = "Resume the selected experiment…"
    action_resume.allowed_permissions = ("change",)
    action_conclude.short_description = "Conclude the selected experiment…"
    action_conclude.allowed_permissions = ("change",)
