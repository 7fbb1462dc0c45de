from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path, reverse
from drf_spectacular.views import SpectacularAPIView

from experiments.api.errors import api_not_found

handler500 = "experiments.api.errors.api_server_error"


def healthz(request):
    """Liveness only: no database, no cache; the baseline endpoint of the benchmarks."""
    return JsonResponse({"status": "ok"})


def home(request):
    """``/`` leads to the admin index for staff, to the admin login (then back to the index) otherwise.

    The admin index is where merchandisers and analysts both start: it lists what needs attention
    (experiments ready to conclude, guardrail breaches, sample-ratio mismatches) and links to the
    reports, so neither role has to know a deeper address. A temporary redirect, because where
    ``/`` leads depends on who asks.
    """
    if request.user.is_active and request.user.is_staff:
        return redirect("admin:index")
    return redirect_to_login(reverse("admin:index"), login_url=reverse("admin:login"))


def favicon(request):
    """Browsers ask for /favicon.ico on pages without an icon link (JSON, the API schema)."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("experiments.api.urls")),
    path("reports/", include("experiments.reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Last: any other path under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^api/", api_not_found),
]
