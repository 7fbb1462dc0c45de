"""Storefront endpoints: assignments and events. Parse, call one service, return."""

from django.db import DatabaseError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.services.assignments import assignments_create
from experiments.services.events import MAX_EVENTS_PER_BATCH, events_record
from experiments.serving.runtime import serving_state

from . import schemas
from .assignment_input import assignment_input_parse
from .errors import ApiError
from .parsing import JsonOnlyNegotiation, OrjsonParser, OrjsonRenderer, require_object
from .storefront_auth import StorefrontKeyAuthentication
from .throttling import StorefrontKeyThrottle

RETRY_AFTER_S = 5


# Errors every storefront call can answer: a bad body, a missing or unknown key, a body over 1 MB.
STOREFRONT_ERRORS = {
    400: schemas.ErrorSerializer,
    401: schemas.ErrorSerializer,
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


class AssignmentCreateApi(StorefrontApi):
    @extend_schema(
        request=schemas.AssignmentInputSerializer,
        responses={200: schemas.AssignmentOutputSerializer, **STOREFRONT_ERRORS},
    )
    def post(self, request):
        data = assignment_input_parse(require_object(request.data))
        return Response(assignments_create(state=serving_state(), data=data))


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
        body = require_object(request.data)
        events = body.get("events")
        if not isinstance(events, list):
            raise ApiError(code="invalid_field", field="events", detail="events must be a list.")
        if len(events) > MAX_EVENTS_PER_BATCH:
            raise ApiError(
                code="too_many_events",
                detail=f"A batch holds at most {MAX_EVENTS_PER_BATCH} events.",
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            result = events_record(events=events)
        except DatabaseError:
            # Never a silent 202: the storefront must retry this batch later.
            return Response(
                {"code": "database_unavailable", "detail": "Events cannot be stored right now; retry."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return Response(result.as_dict(), status=status.HTTP_202_ACCEPTED)
