"""Admin for slots, variants, items and the program settings (global holdout)."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from experiments.models import ProgramSettings, Slot, Variant
from experiments.selectors.admin_overview import (
    leading_arm,
    model_versions,
    running_experiment,
    slots_with_today,
)
from experiments.services.program_settings import serving_config_save
from experiments.services.slots import slot_save
from experiments.services.variant_versions import (
    CHANGE_REASON_MAX_CHARS as VERSION_REASON_MAX_CHARS,
)
from experiments.services.variant_versions import VariantVersionError, variant_version_set

from .history import RevertPermissionMixin
from .serving_config import ServingConfigDeleteMixin
from .slot_baseline import BaselineChangeAdminMixin

ROLE_HELP = {
    "baseline_variant": "Set once, from this slot's own variants (save the slot, add its variants, then pick "
    "one): the legacy variant the global holdout is always served and program uplift is measured against. "
    "A slot without a baseline cannot serve its holdout (it gets no items). Afterwards only "
    "'Change baseline…' changes it, with a reason.",
    "default_variant": "What shoppers outside the holdout get when no experiment runs on this slot; "
    "promoting an experiment's winner sets it. Blank = the baseline.",
    "fallback_variant": "Served when the chosen variant fails (no model, an error). Blank = the baseline.",
}
SLOT_FIELDS = ("key", "name", "page", "position", "default_k")
NO_BASELINE_MESSAGE = (
    "This slot has no baseline, so its share of the global holdout is served no items: pick one of its "
    "variants as the baseline."
)


class SlotForm(forms.ModelForm):
    """The slot's own fields and its variant roles, each limited to the slot's own variants."""

    class Meta:
        model = Slot
        fields = (*SLOT_FIELDS, "baseline_variant", "default_variant", "fallback_variant", "active")
        help_texts = ROLE_HELP

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        own = Variant.objects.filter(slot=self.instance) if self.instance.pk else Variant.objects.none()
        for role in ROLE_HELP:
            if role in self.fields:
                self.fields[role].queryset = own


@admin.register(Slot)
class SlotAdmin(
    BaselineChangeAdminMixin, RevertPermissionMixin, ServingConfigDeleteMixin, SimpleHistoryAdmin
):
    form = SlotForm
    list_display = (
        "key",
        "page",
        "default_k",
        "baseline",
        "default",
        "fallback",
        "running_experiment",
        "leading_variant",
        "impressions_today",
        "ctr_today",
        "active",
    )
    list_filter = ("page", "active")
    search_fields = ("key", "name")

    def get_queryset(self, request):
        roles = ("baseline_variant", "default_variant", "fallback_variant")
        return slots_with_today(super().get_queryset(request).select_related(*roles))

    def _baseline_set(self, obj) -> bool:
        return obj is not None and obj.pk is not None and obj.baseline_variant_id is not None

    def get_fields(self, request, obj=None):
        # Once set, the baseline is shown read-only (with its own audited page), never a form field,
        # so a forged POST or a history revert cannot carry it; ``slot_save`` keeps it besides.
        baseline = "baseline_with_change_link" if self._baseline_set(obj) else "baseline_variant"
        return (*SLOT_FIELDS, baseline, "default_variant", "fallback_variant", "active")

    def get_readonly_fields(self, request, obj=None):
        return ("baseline_with_change_link",) if self._baseline_set(obj) else ()

    @admin.display(description="Baseline variant")
    def baseline_with_change_link(self, slot):
        url = reverse("admin:experiments_slot_baseline_change", args=[slot.pk])
        return format_html(
            '<strong>{}</strong> <a class="button" href="{}">Change baseline…</a>'
            '<div class="help">The legacy variant: always served to the global holdout, and what program '
            "uplift is measured against. Changed only on its own page, with a reason.</div>",
            slot.baseline_variant.key,
            url,
        )

    @admin.display(description="Baseline (holdout)", ordering="baseline_variant__key")
    def baseline(self, slot):
        return slot.baseline_variant.key if slot.baseline_variant else "— none: holdout gets no items —"

    @admin.display(description="Default", ordering="default_variant__key")
    def default(self, slot):
        return slot.default_variant.key if slot.default_variant else "= baseline"

    @admin.display(description="Fallback", ordering="fallback_variant__key")
    def fallback(self, slot):
        return slot.fallback_variant.key if slot.fallback_variant else "= baseline"

    @admin.display(description="Running experiment")
    def running_experiment(self, slot):
        experiment = running_experiment(slot)
        if experiment is None:
            return "-"
        url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
        return format_html('<a href="{}">{}</a>', url, experiment.key)

    @admin.display(description="Leading variant")
    def leading_variant(self, slot):
        experiment = running_experiment(slot)
        arm = leading_arm(experiment) if experiment else None
        return f"{arm.key}: {arm.variant.key}" if arm else "-"

    @admin.display(description="Impressions today", ordering="impressions_today")
    def impressions_today(self, slot):
        return slot.impressions_today

    @admin.display(description="CTR today")
    def ctr_today(self, slot):
        if not slot.impressions_today:
            return "-"
        return f"{100 * slot.clicks_today / slot.impressions_today:.2f}%"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        slot = self.get_object(request, object_id)
        if slot is not None and slot.baseline_variant_id is None and request.method == "GET":
            self.message_user(request, NO_BASELINE_MESSAGE, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        asked = obj.baseline_variant_id
        obj._history_user = request.user
        slot_save(slot=obj)
        if change and asked != obj.baseline_variant_id:  # a history revert to an older baseline
            self.message_user(
                request,
                f"The baseline stays {obj.baseline_variant.key}: the other fields were reverted. "
                "Use 'Change baseline…' to change it, with a reason.",
                messages.WARNING,
            )


VERSION_FIELDS = ("model_version", "version_pinned")


class VariantForm(forms.ModelForm):
    """``model_version`` is picked from the trained artifacts in the model registry. Changing it or
    the pin of an existing variant (a rollback, a pin) needs a reason, kept in its history."""

    model_version = forms.ChoiceField(required=False)
    version_reason = forms.CharField(
        required=False,
        max_length=VERSION_REASON_MAX_CHARS,
        label="Reason for a version change",
        help_text="Required to change the version or the pin of an existing variant; kept in its history.",
    )

    class Meta:
        model = Variant
        fields = ("key", "slot", "algorithm", "params", "model_version", "version_pinned", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— none yet —")]
        choices += [
            (m.version, f"{m.version} ({m.algorithm}, trained {_trained_at(m.created_at)} UTC)")
            for m in model_versions()
        ]
        current = self.instance.model_version
        if current and current not in {c[0] for c in choices}:
            choices.append((current, f"{current} (missing artifact)"))
        self.fields["model_version"].choices = choices

    def clean(self):
        data = super().clean()
        version, algorithm = data.get("model_version"), data.get("algorithm")
        if version and algorithm and not version.startswith(f"{algorithm}-"):
            self.add_error("model_version", f"{version} was not trained with {algorithm}.")
        if self.version_changed and not (data.get("version_reason") or "").strip():
            self.add_error("version_reason", "Say why the version or pin changes; it is kept in the history.")
        return data

    @property
    def version_changed(self) -> bool:
        return self.instance.pk is not None and any(f in self.changed_data for f in VERSION_FIELDS)


# (column label, manifest metric key, unit): what the variant page shows of each trained version.
METRIC_COLUMNS = (
    ("recall@10", "recall@10", ""),
    ("ndcg@10", "ndcg@10", ""),
    ("coverage@10", "coverage@10", "%"),
    ("holdout users", "eval_users", "count"),
    ("interactions", "n_interactions", "count"),
    ("fit time", "fit_total_s", "s"),
    ("peak memory", "peak_rss_mb", "MB"),
)


def _metric_text(metrics: dict, key: str, unit: str) -> str:
    value = metrics.get(key)
    if not isinstance(value, int | float):
        return "-"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.3f}"


def _trained_at(created_at) -> str:
    text = str(created_at)
    return text[:16].replace("T", " ")


@admin.register(Variant)
class VariantAdmin(RevertPermissionMixin, ServingConfigDeleteMixin, SimpleHistoryAdmin):
    form = VariantForm
    list_display = ("key", "slot", "algorithm", "model_version")
    list_filter = ("algorithm", "slot__page")
    search_fields = ("key",)
    readonly_fields = ("version_note", "offline_metrics")

    @admin.display(description="Offline metrics of the trained versions")
    def offline_metrics(self, variant):
        if not variant.algorithm:
            return "-"
        manifests = model_versions(variant.algorithm)
        if not manifests:
            return "No trained version of this algorithm yet."
        rows = format_html_join(
            "",
            "<tr><td>{}{}</td><td>{}</td>" + "<td>{}</td>" * len(METRIC_COLUMNS) + "</tr>",
            (
                (
                    m.version,
                    " (serving)" if m.version == variant.model_version else "",
                    _trained_at(m.created_at),
                    *(_metric_text(m.metrics, key, unit) for _, key, unit in METRIC_COLUMNS),
                )
                for m in manifests
            ),
        )
        header = "".join(f"<th>{label}</th>" for label, _, _ in METRIC_COLUMNS)
        return format_html(
            "<table><tr><th>Version</th><th>Trained (UTC)</th>{}</tr>{}</table>"
            "<p class='help'>On a time holdout: each shopper's last 20% of interactions, scored for the "
            "holdout users shown; recall and ndcg at 10 items.</p>",
            mark_safe(header),
            rows,
        )

    def save_model(self, request, obj, form, change):
        if not form.version_changed:
            serving_config_save(obj=obj)
            return
        # The other fields save as usual; the version and pin move through the audited service.
        version, pinned = obj.model_version, obj.version_pinned
        obj.model_version, obj.version_pinned = form.initial["model_version"], form.initial["version_pinned"]
        serving_config_save(obj=obj)
        try:
            variant_version_set(
                variant=obj,
                version=version,
                pinned=pinned,
                user=request.user,
                reason=form.cleaned_data["version_reason"],
            )
        except VariantVersionError as exc:
            self.message_user(request, exc.message, messages.ERROR)


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(RevertPermissionMixin, SimpleHistoryAdmin):
    """The single program settings row; the global holdout share is set here and nowhere else."""

    fields = ("holdout_share", "serving_version", "catalog_version")
    readonly_fields = ("serving_version", "catalog_version")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        program = ProgramSettings.load()
        return HttpResponseRedirect(reverse("admin:experiments_programsettings_change", args=[program.pk]))

    def save_model(self, request, obj, form, change):
        serving_config_save(obj=obj)
