from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from experiments.models import Arm, Experiment, Item, ProgramSettings, Slot, Variant


@admin.register(Slot)
class SlotAdmin(SimpleHistoryAdmin):
    list_display = ("key", "page", "position", "default_k", "fallback_variant", "active")
    list_filter = ("page", "active")


@admin.register(Variant)
class VariantAdmin(SimpleHistoryAdmin):
    list_display = ("key", "slot", "algorithm", "model_version")
    list_filter = ("algorithm", "slot__page")
    search_fields = ("key",)


class ArmInline(admin.TabularInline):
    model = Arm
    extra = 0
    fields = ("key", "variant", "is_control", "fixed_weight", "weight")
    readonly_fields = ("weight",)


@admin.register(Experiment)
class ExperimentAdmin(SimpleHistoryAdmin):
    list_display = ("key", "slot", "status", "policy", "reward_metric", "allocation_version", "winner")
    list_filter = ("status", "policy", "reward_metric")
    readonly_fields = ("status", "allocation_version", "winner", "started_at", "concluded_at")
    inlines = [ArmInline]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("item_id", "title", "category", "brand", "price")
    search_fields = ("item_id", "title")


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "holdout_share", "serving_version", "catalog_version")
