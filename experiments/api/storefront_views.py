"""Storefront endpoints: assignments, events and item upserts. Parse, call one service, return.

These two endpoints carry the storefront's traffic, so a POST takes a lean path: the same
key check, rate limit, JSON parsing and error bodies as DRF's ``APIView`` (whose class
attributes still declare the contract to drf-spectacular), without building DRF's ``Request``,
negotiating content and rendering through a template response, which cost a large share of
a one-slot assignment's CPU (``bench/notes/2026-12-02-peak.md``). Anything unusual (another
method, any error) goes through DRF's own handling, so errors look exactly like every other
endpoint's.
"""

from django.db import DatabaseError
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.services.assignments import UnknownPage, assignments_create
from experiments.services.events import MAX_EVENTS_PER_BATCH, events_record
from experiments.services.item_batches import MAX_ITEMS_PER_BATCH, items_record
from experiments.serving.runtime import serving_state

from . import schemas
from .assignment_input import assignment_input_parse
from .errors import ApiError
from .parsing import (
    JsonOnlyNegotiation,
    OrjsonParser,
    OrjsonRenderer,
    json_body_parse,
    json_dumps,
    require_object,
)
from .storefront_auth import StorefrontKeyAuthentication, storefront_key_verify
from .throttling import StorefrontKeyThrottle, storefront_key_admit

RETRY_AFTER_S = 5


# Errors every storefront call can answer: a bad body, a missing or unknown key, another method,
# a body over 1 MB, too many requests. (Any path under /api/ no endpoint serves is a 404 with the
# same body.)
STOREFRONT_ERRORS = {
    400: schemas.ErrorSerializer,
    401: schemas.ErrorSerializer,
    405: schemas.ErrorSerializer,
    413: schemas.ErrorSerializer,
    429: schemas.ErrorSerializer,
}


class StorefrontApi(APIView):
    authentication_classes = [StorefrontKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [StorefrontKeyThrottle]
    parser_classes = [OrjsonParser]
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = JsonOnlyNegotiation

    def handle(self, body) -> tuple[dict, int, dict[str, str] | None]:
        """(response body, status, extra headers) for a parsed request body."""
        raise NotImplementedError

    def post(self, request):
        return Response(*self.handle(request.data))

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().dispatch(request, *args, **kwargs)
        try:
            caller = storefront_key_verify(request.META.get("HTTP_AUTHORIZATION", ""))
            wait = storefront_key_admit(caller.prefix)
            if wait is not None:
                raise exceptions.Throttled(wait)
            body = self._body(request)
            data, status_code, headers = self.handle(body)
        except exceptions.APIException as exc:
            # DRF's error path, so every error body and header is the one DRF would give.
            self.args, self.kwargs, self.headers = args, kwargs, self.default_response_headers
            drf_request = self.initialize_request(request, *args, **kwargs)
            self.request = drf_request
            return self.finalize_response(drf_request, self.handle_exception(exc), *args, **kwargs)
        response = HttpResponse(json_dumps(data), status=status_code, content_type="application/json")
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @staticmethod
    def _body(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # as DRF: an unreadable length is no body
        content_type = request.META.get("CONTENT_TYPE", "")
        if not length:
            return {}  # as DRF: an empty body parses to an empty object
        if content_type.partition(";")[0].strip().lower() != OrjsonParser.media_type:
            raise exceptions.UnsupportedMediaType(content_type)
        return json_body_parse(request, length)


class AssignmentCreateApi(StorefrontApi):
    def handle(self, body):
        data = assignment_input_parse(require_object(body))
        try:
            return assignments_create(state=serving_state(), data=data), 200, None
        except UnknownPage as exc:
            raise ApiError(
                code="unknown_page", field="context.page", detail=str(exc), extra={"known_pages": exc.known}
            ) from exc

    @extend_schema(
        request=schemas.AssignmentInputSerializer,
        responses={200: schemas.AssignmentOutputSerializer, **STOREFRONT_ERRORS},
    )
    def post(self, request):
        return super().post(request)


class EventBatchApi(StorefrontApi):
    @extend_schema(
        request=schemas.EventBatchInputSerializer,
        responses={
            202: schemas.EventBatchOutputSerializer,
            **STOREFRONT_ERRORS,
            503: schemas.ErrorSerializer,
        },
    )
    def post(self, request):
        return super().post(request)

    def handle(self, body):
        return _batch_handle(
            body,
            "events",
            MAX_EVENTS_PER_BATCH,
            lambda events: events_record(events=events),
            status.HTTP_202_ACCEPTED,
        )


class ItemBatchApi(StorefrontApi):
    """``PUT /api/v1/items``: up to 1000 item upserts. Not on the storefront's hot path, so it
    takes DRF's ordinary route (the lean path serves POSTs only)."""

    http_method_names = ["put", "options"]

    def dispatch(self, request, *args, **kwargs):
        return APIView.dispatch(self, request, *args, **kwargs)

    @extend_schema(
        request=schemas.ItemBatchInputSerializer,
        responses={
            200: schemas.ItemBatchOutputSerializer,
            **STOREFRONT_ERRORS,
            503: schemas.ErrorSerializer,
        },
    )
    def put(self, request):
        data, status_code, headers = self.handle(request.data)
        return Response(data, status=status_code, headers=headers)

    def handle(self, body):
        return _batch_handle(
            body, "items", MAX_ITEMS_PER_BATCH, lambda items: items_record(items=items), status.HTTP_200_OK
        )


def _batch_handle(body, field: str, limit: int, record, ok_status: int):
    """A storefront batch (``{"events": [...]}``, ``{"items": [...]}``): the list, its size limit
    (413), then ``record``; a database that cannot take it is a 503 with ``Retry-After``, never a
    silent success, so the storefront retries the batch later."""
    body = require_object(body)
    rows = body.get(field)
    if not isinstance(rows, list):
        raise ApiError(code="invalid_field", field=field, detail=f"{field} must be a list.")
    if len(rows) > limit:
        raise ApiError(
            code=f"too_many_{field}",
            detail=f"A batch holds at most {limit} {field}.",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    try:
        result = record(rows)
    except DatabaseError:
        return (
            {
                "code": "database_unavailable",
                "detail": f"{field.capitalize()} cannot be stored right now; retry.",
            },
            status.HTTP_503_SERVICE_UNAVAILABLE,
            {"Retry-After": str(RETRY_AFTER_S)},
        )
    return result.as_dict(), ok_status, None
