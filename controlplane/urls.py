from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from experiments.api.errors import api_not_found

handler500 = "experiments.api.errors.api_server_error"


def healthz(request):
    """Liveness only: no database, no cache; the baseline endpoint of the benchmarks."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("experiments.api.urls")),
    path("reports/", include("experiments.reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Last: any other path under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^api/", api_not_found),
]
