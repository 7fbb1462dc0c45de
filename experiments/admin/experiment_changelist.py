"""The experiment changelist's overview columns: the same figures as /reports/, filterable by state.

A mixin so that the rest of the experiment admin stays where it is. The figures of a page's rows are
read once per page (``experiment_overview`` over the page's experiments: a fixed number of queries)
and handed to each row, not queried per row.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from experiments.domain.experiment_state import STATE_LABELS
from experiments.selectors.experiment_overview import experiment_overview
from experiments.templatetags.report_format import DASH, pct, signed_pct

OVERVIEW_COLUMNS = (
    "overview_state",
    "overview_leader",
    "overview_prob_best",
    "overview_uplift",
    "overview_traffic_share",
    "overview_decisions",
)


class ExperimentStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return tuple(STATE_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() not in STATE_LABELS:
            return queryset
        keys = [row["key"] for row in experiment_overview(queryset=queryset, state=self.value())]
        return queryset.filter(key__in=keys)


class ExperimentChangelistMixin:
    """Adds the overview columns after ``status``, a link to each report, and the state filter."""

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        at = columns.index("status") + 1 if "status" in columns else len(columns)
        return (*columns[:at], *OVERVIEW_COLUMNS, *columns[at:], "report_link")

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        at = filters.index("status") + 1 if "status" in filters else 0
        return (*filters[:at], ExperimentStateFilter, *filters[at:])

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)
        shown = self.model.objects.filter(pk__in=[e.pk for e in page])
        rows = {row["key"]: row for row in experiment_overview(queryset=shown)}
        for experiment in page:
            experiment.overview = rows.get(experiment.key, {})
        return changelist

    @staticmethod
    def _row(experiment) -> dict:
        return getattr(experiment, "overview", None) or {}

    @admin.display(description="Stopping state")
    def overview_state(self, experiment):
        row = self._row(experiment)
        if not row:
            return DASH
        return format_html(
            '<span class="overview-state state-{}">{}</span>', row["state"], row["stopping_state"]
        )

    @admin.display(description="Leader")
    def overview_leader(self, experiment):
        row = self._row(experiment)
        if not row.get("leader"):
            return DASH
        control = " (control)" if row["leader_is_control"] else ""
        return f"{row['leader']}{control}"

    @admin.display(description="P(best)")
    def overview_prob_best(self, experiment):
        return pct(self._row(experiment).get("prob_best"))

    @admin.display(description="Uplift vs control (95% interval)")
    def overview_uplift(self, experiment):
        row = self._row(experiment)
        if row.get("uplift") is None:
            return DASH
        return format_html(
            '{} <span class="interval" style="white-space: nowrap">({} … {})</span>',
            signed_pct(row["uplift"]),
            signed_pct(row["uplift_ci_low"]),
            signed_pct(row["uplift_ci_high"]),
        )

    @admin.display(description="Leader's traffic")
    def overview_traffic_share(self, experiment):
        return pct(self._row(experiment).get("traffic_share"))

    @admin.display(description="Decisions")
    def overview_decisions(self, experiment):
        row = self._row(experiment)
        return f"{row['decisions']:,}" if row else DASH

    @admin.display(description="Report")
    def report_link(self, experiment):
        return format_html('<a href="{}">report</a>', reverse("reports:experiment", args=[experiment.key]))
