"""JSON errors with a stable ``code`` for every API failure."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApiError(exceptions.APIException):
    """An error response ``{"code", "detail"}`` with a chosen HTTP status."""

    def __init__(self, *, code: str, detail: str, status_code: int = status.HTTP_400_BAD_REQUEST, field=None):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.error_code = code
        self.field = field


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
    elif isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "detail": "The request is invalid.", "errors": response.data}
    else:
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
        body = {"code": code, "detail": str(getattr(exc, "detail", exc))}
    return Response(body, status=response.status_code, headers={k: v for k, v in response.items()})
