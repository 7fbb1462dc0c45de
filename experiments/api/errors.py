"""JSON errors with a stable ``code`` for every API failure."""

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApiError(exceptions.APIException):
    """An error response ``{"code", "detail"}`` with a chosen HTTP status."""

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        field=None,
        extra: dict | None = None,
    ):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.error_code = code
        self.field = field
        self.extra = extra  # more members of the body, e.g. the known pages of unknown_page


_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.ParseError: "malformed_json",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def api_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = {"code": exc.error_code, "detail": str(exc.detail)}
        if exc.field:
            body["field"] = exc.field
        if exc.extra:
            body.update(exc.extra)
    elif isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "detail": "The request is invalid.", "errors": response.data}
    else:
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
        body = {"code": code, "detail": str(getattr(exc, "detail", exc))}
    return Response(body, status=response.status_code, headers={k: v for k, v in response.items()})


def _path_hint(path: str) -> str:
    """' Did you mean ...?' when the path differs from an API endpoint only by its final slash."""
    other = path[:-1] if path.endswith("/") else path + "/"
    try:
        match = resolve(other)
    except Resolver404:
        return ""
    return "" if match.func is api_not_found else f" Did you mean {other}?"


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Every path under /api/ that no endpoint serves: a JSON 404 with a code, whatever the
    method and DEBUG (Django's own 404 page is HTML, and with DEBUG its technical page), and
    never a redirect that adds or drops a slash (a POST's body would be lost on the way)."""
    detail = f"No API endpoint at {request.path}.{_path_hint(request.path)}"
    return JsonResponse({"code": "not_found", "detail": detail}, status=status.HTTP_404_NOT_FOUND)


def api_server_error(request):
    """``handler500``: JSON with a code under /api/, Django's own page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "detail": "The server failed to answer; retry later."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error

    return server_error(request)
