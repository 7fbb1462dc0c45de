"""The experiment page's inlines: arms with their figures at the last allocation, and guardrails."""

from django.contrib import admin

from experiments.domain import report_numbers
from experiments.domain.arm_summary import observed_mean
from experiments.models import Arm, Experiment, Guardrail, Slot
from experiments.models.experiments import Status
from experiments.selectors.arm_summary import latest_arm_rows

from .experiment_forms import ArmFormSet, GuardrailForm, GuardrailFormSet
from .history import NO_VALUE

NOT_SERVING = "not serving"


class StatusEditableInline(admin.TabularInline):
    """An inline whose rows can be added, changed or deleted only while ``_editable(experiment)``."""

    empty_value_display = NO_VALUE

    def _editable(self, obj) -> bool:
        raise NotImplementedError

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class ArmInline(StatusEditableInline):
    model = Arm
    formset = ArmFormSet
    extra = 2
    fields = (
        "key",
        "variant",
        "is_control",
        "fixed_weight",
        "impressions",
        "observed",
        "prob_best",
        "traffic_share",
    )
    readonly_fields = ("impressions", "observed", "prob_best", "traffic_share")

    def _summary(self, arm) -> dict:
        """The arm's row of the latest allocation (the report's arm summary), read once per experiment."""
        cache = self.__dict__.setdefault("_summaries", {})
        if arm.experiment_id not in cache:
            cache[arm.experiment_id] = latest_arm_rows(arm.experiment_id)
        return cache[arm.experiment_id].get(arm.key, {})

    @admin.display(description="Impressions (last allocation)")
    def impressions(self, arm) -> str:
        return report_numbers.count(self._summary(arm).get("trials")) if arm.pk else "-"

    @admin.display(description="Observed rate (successes / impressions)")
    def observed(self, arm) -> str:
        row = self._summary(arm)
        return report_numbers.percent(observed_mean(row.get("trials", 0), row.get("successes", 0)))

    @admin.display(description="P(best) (last allocation)")
    def prob_best(self, arm) -> str:
        return report_numbers.probability(self._summary(arm).get("prob_best"))

    @admin.display(description="Traffic share now")
    def traffic_share(self, arm) -> str:
        """The arm's live share while the experiment runs; a paused or concluded arm serves nobody,
        whatever weight it last had."""
        if not arm.pk or arm.experiment.status == Status.DRAFT:
            return NO_VALUE
        if arm.experiment.status != Status.RUNNING:
            return f"{NOT_SERVING} ({arm.experiment.status})"
        # The weight is an exact share of the hash space (ticks / 2**32): a raw float of 17 digits.
        return report_numbers.percent(arm.weight)

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is None else 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.slot = self._slot_chosen(request, obj)
        return formset

    @staticmethod
    def _slot_chosen(request, experiment: Experiment | None) -> Slot | None:
        """The slot the arms are picked for: the posted one (a draft's slot may change), the add
        page's ``?slot=``, else the experiment's."""
        chosen = request.POST.get("slot") or request.GET.get("slot")
        if chosen and chosen.isdigit():
            return Slot.objects.filter(pk=chosen).first()
        return experiment.slot if experiment is not None else None

    def _editable(self, obj) -> bool:
        return obj is None or obj.status == Status.DRAFT


class GuardrailInline(StatusEditableInline):
    """Guardrail rows, editable until the experiment concludes (a concluded experiment's rules are
    the record of what it was judged by)."""

    model = Guardrail
    form = GuardrailForm
    formset = GuardrailFormSet
    extra = 0
    fields = ("metric", "tolerance", "breach_probability")
    verbose_name_plural = "Guardrails: metrics that must not get worse than control"

    def _editable(self, obj) -> bool:
        return obj is None or obj.status != Status.CONCLUDED
