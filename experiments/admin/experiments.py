"""Experiment admin: create with validation (via ``experiment_create``), lifecycle steps, live traffic."""

import json

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import to_historic
from simple_history.utils import update_change_reason

from experiments.domain.fixed_split import start_weights
from experiments.domain.lifecycle_steps import STEPS
from experiments.models import Experiment, ProgramSettings
from experiments.models.experiments import Status
from experiments.services.experiments import ExperimentError, experiment_create, experiment_settings_update

from .experiment_changelist import ExperimentChangelistMixin
from .experiment_forms import (
    LIVE_EDITABLE_FIELDS,
    ArmFormSet,
    ExperimentForm,
    GuardrailFormSet,
)
from .experiment_inlines import ArmInline, GuardrailInline
from .history import NO_VALUE, ReadableHistoryMixin, RevertPermissionMixin, arm_words, time_words
from .lifecycle import LifecycleAdminMixin, slot_role_words, step_label

ARMS_FROZEN_MESSAGE = (
    "This experiment has started, so its arms cannot be edited: conclude it and start a new experiment "
    "to test other variants."
)
PAUSED_MESSAGE = (
    "This experiment is paused: {slot_now}. Its arms cannot be edited; to test other variants, start a "
    "new experiment."
)
CONCLUDED_MESSAGE = (
    "This experiment concluded on {date} with {winner}. Its settings, arms and guardrails are the "
    "record of what it tested and how it was judged, so they can no longer be edited."
)
# Read-only lifecycle fields shown on every experiment page, after the configuration.
LIFECYCLE_DISPLAY = (
    "status",
    "allocation_version",
    "winner_arm",
    "started_at",
    "concluded_at",
    "traffic_after_holdout",
)
DELETE_REFUSED_MESSAGE = (
    "Experiment {key} is {status}, so it cannot be deleted: its posteriors, exposures and reports "
    "depend on it. Conclude it instead; only a draft can be deleted."
)
REVERT_SCOPE_MESSAGE = (
    "Reverting a {status} experiment restores only the fields it can still edit ({fields}). Its status, "
    "allocation, winner, dates, salt and arms change only through the lifecycle steps, so they stay as "
    "they are now; the history list still shows their past values."
)


def slot_now_words(experiment: Experiment) -> str:
    """What the experiment's slot serves while the experiment does not: another experiment that runs
    there now, else the slot's default variant."""
    slot = experiment.slot
    running = (
        Experiment.objects.filter(slot_id=slot.pk, status=Status.RUNNING).exclude(pk=experiment.pk).first()
    )
    if running is not None:
        return f"slot {slot.key} runs experiment {running.key} now"
    _, default, _ = slot_role_words(slot)
    return f"slot {slot.key} serves its default variant {default} outside the global holdout"


class GuardrailBreachedFilter(admin.SimpleListFilter):
    title = "guardrail"
    parameter_name = "guardrail"

    def lookups(self, request, model_admin):
        return (("breached", "Breached"), ("holding", "Holding"))

    def queryset(self, request, queryset):
        breached = queryset.filter(arms__guardrail_breached_at__isnull=False).values("pk")
        if self.value() == "breached":
            return queryset.filter(pk__in=breached)
        if self.value() == "holding":
            return queryset.exclude(pk__in=breached)
        return queryset


@admin.register(Experiment)
class ExperimentAdmin(
    ExperimentChangelistMixin,
    LifecycleAdminMixin,
    ReadableHistoryMixin,
    RevertPermissionMixin,
    SimpleHistoryAdmin,
):
    form = ExperimentForm
    empty_value_display = NO_VALUE
    change_form_template = "admin/experiments/experiment/change_form.html"
    list_display = (
        "key",
        "slot",
        "status",
        "guardrail_breached",
        "policy",
        "reward_metric",
        "allocation_version",
        "winner",
        "auto_conclude",
    )
    list_filter = ("status", GuardrailBreachedFilter, "policy", "reward_metric")
    search_fields = ("key", "slot__key")
    inlines = [ArmInline, GuardrailInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("arms")

    @admin.display(description="Guardrail breached")
    def guardrail_breached(self, experiment):
        breached = [a for a in experiment.arms.all() if a.guardrail_breached_at is not None]
        if not breached:
            return "-"
        return format_html_join(
            ", ",
            '<strong class="guardrail-breached">{} on {}</strong>',
            ((a.key, (a.guardrail_breach or {}).get("metric", "?")) for a in breached),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None or obj.status == Status.DRAFT:
            return LIFECYCLE_DISPLAY
        live = () if obj.status == Status.CONCLUDED else LIVE_EDITABLE_FIELDS
        frozen = [f.name for f in Experiment._meta.fields if f.editable and f.name not in live]
        return tuple(dict.fromkeys(LIFECYCLE_DISPLAY + tuple(frozen)))

    def get_fields(self, request, obj=None):
        """One layout in every state: the configuration in the form's order, then the lifecycle."""
        return (*ExperimentForm.Meta.fields, *LIFECYCLE_DISPLAY)

    @admin.display(description="Winner")
    def winner_arm(self, experiment):
        return arm_words(experiment.winner) if experiment.winner_id else NO_VALUE

    @admin.display(description="Traffic after the global holdout")
    def traffic_after_holdout(self, experiment):
        if experiment.pk is None:
            return NO_VALUE
        holdout = ProgramSettings.load().holdout_share
        if experiment.status in (Status.PAUSED, Status.CONCLUDED):
            return f"Not serving: the experiment is {experiment.status}; {slot_now_words(experiment)}."
        arms = list(experiment.arms.select_related("variant").order_by("key"))
        shares = [a.weight for a in arms]
        if experiment.status == Status.DRAFT:  # what it will start with
            shares = start_weights(policy=experiment.policy, fixed_weights=[a.fixed_weight for a in arms])
        rows = format_html_join(
            "",
            "<li>{}: {} of this slot's traffic → {} of all shoppers</li>",
            (
                (f"{a.key} ({a.variant.key})", f"{w:.1%}", f"{w * (1 - holdout):.1%}")
                for a, w in zip(arms, shares, strict=True)
            ),
        )
        baseline = experiment.slot.baseline_variant
        return format_html(
            "<p>The global holdout keeps {} of shoppers on the slot's baseline {}; "
            "the experiment gets {}.</p><ul>{}</ul>",
            f"{holdout:.0%}",
            baseline.key if baseline else "(none set: the holdout gets no items)",
            f"{1 - holdout:.0%}",
            rows,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        experiment = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if experiment is not None:
            if experiment.status != Status.DRAFT and request.method == "GET":
                self.message_user(request, self._status_message(experiment), messages.INFO)
            allowed = self.has_change_permission(request, experiment)
            extra_context["lifecycle_steps"] = [
                (s, step_label(s)) for s, ok in STEPS.items() if allowed and experiment.status in ok
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _status_message(experiment: Experiment) -> str:
        """What a started experiment's change page says about what can still change."""
        if experiment.status == Status.PAUSED:
            return PAUSED_MESSAGE.format(slot_now=slot_now_words(experiment))
        if experiment.status == Status.CONCLUDED:
            winner = experiment.winner
            return CONCLUDED_MESSAGE.format(
                date=time_words(experiment.concluded_at),
                winner=f"winner {arm_words(winner)}" if winner else "no winner (inconclusive)",
            )
        return ARMS_FROZEN_MESSAGE

    def has_change_permission(self, request, obj=None):
        """A concluded experiment is a record: Django's view-only page, nothing to save or revert.
        A historical version (the revert form) is judged by the experiment as it is now."""
        status = obj.status if obj is not None else None
        if obj is not None and to_historic(obj) is not None:
            status = Experiment.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
        if status == Status.CONCLUDED:
            return False
        return super().has_change_permission(request, obj)

    def _editable_fields(self, request, experiment: Experiment) -> list[str]:
        readonly = set(self.get_readonly_fields(request, experiment))
        return [name for name in self.form.Meta.fields if name not in readonly]

    def get_form(self, request, obj=None, change=False, **kwargs):
        """A historical version (the History page's revert form) is shown and saved with the stored
        row's values in every field that cannot be edited now, so a revert cannot bring back an old
        status, allocation version, winner, date, salt or frozen configuration."""
        if obj is not None and to_historic(obj) is not None:
            stored = Experiment.objects.filter(pk=obj.pk).first()
            if stored is None:
                raise Http404("A deleted experiment cannot be restored from its history.")
            editable = set(self._editable_fields(request, stored))
            for field in Experiment._meta.concrete_fields:
                if field.name not in editable:
                    setattr(obj, field.attname, getattr(stored, field.attname))
        return super().get_form(request, obj, change, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        experiment = self.get_object(request, unquote(object_id))
        if experiment is None:
            raise Http404("A deleted experiment cannot be restored from its history.")
        can_revert = self.has_change_history_permission(request, experiment)
        if request.method == "GET" and can_revert and experiment.status != Status.DRAFT:
            fields = ", ".join(
                str(Experiment._meta.get_field(name).verbose_name)
                for name in self._editable_fields(request, experiment)
            )
            self.message_user(
                request, REVERT_SCOPE_MESSAGE.format(status=experiment.status, fields=fields), messages.INFO
            )
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        # A new experiment is created with its arms by the service, in save_related.
        if not change:
            return
        try:
            stored = experiment_settings_update(
                experiment=obj, fields=list(form.base_fields), status=obj.status
            )
        except ExperimentError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        obj._settings_stored = stored  # its history row gets the edit's reason in save_related
        record = to_historic(obj)
        if record is not None:
            user = request.user.get_username()
            reason = f"Reverted by {user} to the version of {record.history_date:%Y-%m-%d %H:%M}"
            update_change_reason(stored, reason[:100])

    def _edit_reason_record(self, request, stored: Experiment, form, formsets) -> None:
        """The edit's history row says what changed, guardrail rows included (they are saved after
        the experiment's row, which would otherwise show an edit with no change), in the admin's own
        words ("Changed tolerance for guardrail …")."""
        message = self.construct_change_message(request, form, formsets)
        words = LogEntry(change_message=json.dumps(message)).get_change_message()
        if message and words:
            update_change_reason(stored, words[:100])

    @staticmethod
    def _deletable(experiment: Experiment | None) -> bool:
        return experiment is None or experiment.status == Status.DRAFT

    def has_delete_permission(self, request, obj=None):
        return self._deletable(obj) and super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        experiment = self.get_object(request, unquote(object_id))
        if not self._deletable(experiment) and super().has_delete_permission(request, experiment):
            message = DELETE_REFUSED_MESSAGE.format(key=experiment.key, status=experiment.status)
            self.message_user(request, message, messages.ERROR)
            return redirect(reverse("admin:experiments_experiment_change", args=[experiment.pk]))
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (type(self).delete_selected_drafts, name, description)
        return actions

    def delete_selected_drafts(self, request, queryset):
        """Django's bulk delete, refused as a whole when the selection holds a started experiment."""
        started = list(queryset.exclude(status=Status.DRAFT).values_list("key", "status"))
        if started:
            keys = ", ".join(f"{key} ({status})" for key, status in started)
            self.message_user(
                request,
                f"Nothing was deleted: only drafts can be deleted, and {keys} started. "
                "Their posteriors, exposures and reports depend on them; conclude them instead.",
                messages.ERROR,
            )
            return None
        return delete_selected(self, request, queryset)

    def save_related(self, request, form, formsets, change):
        if change:
            # The frozen arms inline posts its rows back unchanged; warn only when someone changed them.
            arms_changed = any(isinstance(fs, ArmFormSet) and fs.has_changed() for fs in formsets)
            if form.instance.status != Status.DRAFT and arms_changed:
                self.message_user(request, ARMS_FROZEN_MESSAGE, messages.WARNING)
            super().save_related(request, form, formsets, change)
            stored = getattr(form.instance, "_settings_stored", None)
            if stored is not None and to_historic(form.instance) is None:  # a revert names itself
                self._edit_reason_record(request, stored, form, formsets)
            return None
        arm_formset = next(fs for fs in formsets if isinstance(fs, ArmFormSet))
        guardrail_formset = next((fs for fs in formsets if isinstance(fs, GuardrailFormSet)), None)
        config = {k: v for k, v in form.cleaned_data.items() if k not in ("key", "slot")}
        try:
            experiment = experiment_create(
                key=form.cleaned_data["key"],
                slot=form.cleaned_data["slot"],
                arms=arm_formset.arm_specs(),
                guardrails=guardrail_formset.rules() if guardrail_formset else [],
                **config,
            )
        except ExperimentError as exc:  # a race with another admin; the formset checked the rest
            raise ValueError(" ".join(exc.messages)) from exc
        form.instance.pk = experiment.pk
        for formset in formsets:  # the admin's change message reads what the formsets saved
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
