"""Thin report views: check the analyst's session, call one selector, render HTML, CSV or nothing else.

Anonymous users go to the admin login; a logged-in user without ``view_experiment`` gets 403.
Storefront API keys are not sessions, so they never get past the login check.
"""

from functools import cache

import plotly
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

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
    rows = experiment_list()
    if request.GET.get("format") == "csv":
        return _csv(experiment_list_csv(rows), "experiments.csv")
    return render(request, "reports/index.html", {"experiments": rows})


@_analyst_view
def experiment_report(request, key: str):
    experiment = get_object_or_404(Experiment.objects.select_related("slot", "winner"), key=key)
    report = report_build(experiment=experiment)
    if request.GET.get("format") == "csv":
        return _csv(experiment_csv(report), f"{experiment.key}.csv")
    context = {"report": report, "charts": experiment_charts(report), "plotly_js": PLOTLY_JS_NAME}
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
