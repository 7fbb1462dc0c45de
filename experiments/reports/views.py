"""Thin report views: check the analyst's session, call one selector, render HTML, CSV or nothing else.

Anonymous users go to the admin login; a logged-in user without ``view_experiment`` gets 403.
Storefront API keys are not sessions, so they never get past the login check.
"""

from collections import Counter
from functools import cache

import plotly
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from experiments.domain.arm_summary import arm_column_labels
from experiments.domain.experiment_state import STATE_LABELS
from experiments.domain.lifecycle_steps import STEPS
from experiments.models import Experiment
from experiments.selectors.program_report import program_report_build
from experiments.selectors.reports import experiment_list, report_build

from .charts import experiment_charts
from .csv_export import experiment_csv, experiment_list_csv, program_csv
from .program_charts import program_charts

PLOTLY_JS_NAME = f"plotly-{plotly.__version__}.min.js"


def _analyst_view(view):
    return require_GET(
        login_required(permission_required("experiments.view_experiment", raise_exception=True)(view))
    )


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@_analyst_view
def report_index(request):
    """Every experiment with its leader and stopping state; ``?state=`` keeps one state's rows (the
    CSV too), sorting is in the page. The filter shows how many experiments each state holds."""
    rows = experiment_list()
    state = request.GET.get("state")
    state = state if state in STATE_LABELS else None
    shown = [row for row in rows if state is None or row["state"] == state]
    if request.GET.get("format") == "csv":
        return _csv(experiment_list_csv(shown), "experiments.csv")
    counts = Counter(row["state"] for row in rows)
    states = [
        (code, label, counts[code]) for code, label in STATE_LABELS.items() if counts[code] or code == state
    ]
    context = {
        "experiments": shown,
        "state": state,
        "states": states,
        "total": len(rows),
        "state_order": list(STATE_LABELS),
    }
    return render(request, "reports/index.html", context)


@_analyst_view
def experiment_report(request, key: str):
    experiment = get_object_or_404(Experiment.objects.select_related("slot", "winner"), key=key)
    report = report_build(experiment=experiment)
    if request.GET.get("format") == "csv":
        return _csv(experiment_csv(report), f"{experiment.key}.csv")
    context = {
        "report": report,
        "experiment": experiment,
        "labels": arm_column_labels(experiment.reward_metric),
        "can_conclude": experiment.status in STEPS["conclude"]
        and request.user.has_perm("experiments.change_experiment"),
        "charts": experiment_charts(report),
        "plotly_js": PLOTLY_JS_NAME,
    }
    return render(request, "reports/experiment.html", context)


@_analyst_view
def program_report(request):
    report = program_report_build()
    if request.GET.get("format") == "csv":
        return _csv(program_csv(report), "program.csv")
    context = {"report": report, "charts": program_charts(report), "plotly_js": PLOTLY_JS_NAME}
    return render(request, "reports/program.html", context)


@cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


@require_GET
def plotly_js(request, name: str):
    """plotly.js from the installed plotly package: charts render offline, with no CDN.

    The file name carries the plotly version, so browsers may cache it for a year.
    """
    if name != PLOTLY_JS_NAME:
        return HttpResponse(status=404)
    response = HttpResponse(_plotly_js(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
