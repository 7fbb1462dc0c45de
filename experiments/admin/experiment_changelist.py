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
    "overview_experiment",
    "overview_state",
    "overview_leader",
    "overview_uplift",
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
    """The overview columns, each state linked to its report, and the state filter."""

    def get_list_display(self, request):
        """The overview's columns in place of ``list_display``'s.

        With the admin's navigation and filter sidebars, a 1,400 px window leaves about 750 px for
        the table, so a value that is already in a filter or on the change page does not get a
        column of its own: status (the stopping state names every status but running), policy,
        reward, version, winner (the state names it), auto-conclude. Slot goes under the key, P(best)
        and traffic share under the leader, and the admin's guardrail flag under the state.
        """
        return OVERVIEW_COLUMNS

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

    @admin.display(description="Experiment", ordering="key")
    def overview_experiment(self, experiment):
        slot = self._row(experiment).get("slot", "")
        return format_html('{}<br><span class="quiet">{}</span>', experiment.key, slot)

    @admin.display(description="Stopping state")
    def overview_state(self, experiment):
        """The state in words, linked to the report, which says it in full; the guardrail flag of the
        experiment admin (``guardrail_breached``, when it has one) under it."""
        row = self._row(experiment)
        if not row:
            return DASH
        state = format_html(
            '<a href="{}" class="overview-state state-{}">{}</a>',
            reverse("reports:experiment", args=[experiment.key]),
            row["state"],
            row["stopping_state"],
        )
        flag = getattr(self, "guardrail_breached", None)
        if flag is None or not row["guardrail_breaches"]:
            return state
        words = "arm" if row["state"] == "guardrail_breached" else "guardrail breached:"
        return format_html('{}<br><span class="quiet">{} {}</span>', state, words, flag(experiment))

    @admin.display(description="Leader")
    def overview_leader(self, experiment):
        """The leading variant; its P(best) and its share of all the slot's shoppers under it."""
        row = self._row(experiment)
        if not row.get("leader"):
            return DASH
        return format_html(
            '{}{}<br><span class="quiet" style="white-space: nowrap">P(best) {} · traffic {}</span>',
            row["leader"],
            " (control)" if row["leader_is_control"] else "",
            pct(row["prob_best"]),
            pct(row["traffic_share"]),
        )

    @admin.display(description="Uplift vs control")
    def overview_uplift(self, experiment):
        row = self._row(experiment)
        if row.get("uplift") is None:
            return DASH
        return format_html(
            '{}<br><span class="interval quiet" style="white-space: nowrap">{} … {}</span>',
            signed_pct(row["uplift"]),
            signed_pct(row["uplift_ci_low"]),
            signed_pct(row["uplift_ci_high"]),
        )

    @admin.display(description="Decisions")
    def overview_decisions(self, experiment):
        row = self._row(experiment)
        return f"{row['decisions']:,}" if row else DASH
