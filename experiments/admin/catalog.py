"""Admin for slots, variants, items and the program settings (global holdout)."""

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from experiments.models import Item, ProgramSettings, Slot, Variant
from experiments.selectors.admin_overview import (
    leading_arm,
    model_versions,
    running_experiment,
    slots_with_today,
)
from experiments.services.program_settings import serving_config_save

from .history import RevertPermissionMixin
from .serving_config import ServingConfigDeleteMixin


class SlotForm(forms.ModelForm):
    class Meta:
        model = Slot
        fields = ("key", "name", "page", "position", "default_k", "fallback_variant", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "fallback_variant" in self.fields:
            self.fields["fallback_variant"].queryset = Variant.objects.filter(slot=self.instance)


@admin.register(Slot)
class SlotAdmin(RevertPermissionMixin, ServingConfigDeleteMixin, SimpleHistoryAdmin):
    form = SlotForm
    list_display = (
        "key",
        "page",
        "default_k",
        "fallback_variant",
        "running_experiment",
        "leading_variant",
        "impressions_today",
        "ctr_today",
        "active",
    )
    list_filter = ("page", "active")
    search_fields = ("key", "name")

    def get_queryset(self, request):
        return slots_with_today(super().get_queryset(request).select_related("fallback_variant"))

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

    def save_model(self, request, obj, form, change):
        serving_config_save(obj=obj)


class VariantForm(forms.ModelForm):
    """``model_version`` is picked from the trained artifacts in the model registry."""

    model_version = forms.ChoiceField(required=False)

    class Meta:
        model = Variant
        fields = ("key", "slot", "algorithm", "params", "model_version", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— none yet —")]
        choices += [(m.version, f"{m.version} ({m.algorithm}, {m.created_at})") for m in model_versions()]
        current = self.instance.model_version
        if current and current not in {c[0] for c in choices}:
            choices.append((current, f"{current} (missing artifact)"))
        self.fields["model_version"].choices = choices

    def clean(self):
        data = super().clean()
        version, algorithm = data.get("model_version"), data.get("algorithm")
        if version and algorithm and not version.startswith(f"{algorithm}-"):
            self.add_error("model_version", f"{version} was not trained with {algorithm}.")
        return data


@admin.register(Variant)
class VariantAdmin(RevertPermissionMixin, ServingConfigDeleteMixin, SimpleHistoryAdmin):
    form = VariantForm
    list_display = ("key", "slot", "algorithm", "model_version")
    list_filter = ("algorithm", "slot__page")
    search_fields = ("key",)
    readonly_fields = ("offline_metrics",)

    @admin.display(description="Offline metrics of the trained versions")
    def offline_metrics(self, variant):
        if not variant.algorithm:
            return "-"
        manifests = model_versions(variant.algorithm)
        if not manifests:
            return "No trained version of this algorithm yet."
        rows = format_html_join(
            "",
            "<tr><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.version,
                    " (serving)" if m.version == variant.model_version else "",
                    m.created_at,
                    ", ".join(
                        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in m.metrics.items()
                    )
                    or "none recorded",
                )
                for m in manifests
            ),
        )
        return format_html("<table><tr><th>Version</th><th>Trained</th><th>Metrics</th></tr>{}</table>", rows)

    def save_model(self, request, obj, form, change):
        serving_config_save(obj=obj)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("item_id", "title", "category", "brand", "price")
    search_fields = ("item_id", "title")


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
