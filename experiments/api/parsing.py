"""Fast JSON in and out for the storefront endpoints (orjson), with stable error codes."""

import orjson
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from .errors import ApiError

MAX_BODY_BYTES = 1_048_576


class OrjsonParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"] if parser_context else None
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        return json_body_parse(stream, length)


def json_body_parse(stream, declared_length: int):
    """The JSON value of a request body of at most 1 MB (413 above, 400 if not JSON)."""
    if declared_length > MAX_BODY_BYTES:
        raise ApiError(code="payload_too_large", detail="The body exceeds 1 MB.", status_code=413)
    raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(code="payload_too_large", detail="The body exceeds 1 MB.", status_code=413)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(code="malformed_json", detail=f"Body is not valid JSON: {exc}") from exc


def json_dumps(data) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return json_dumps(data)


class JsonOnlyNegotiation(BaseContentNegotiation):
    """The storefront endpoints speak JSON only, whatever ``Accept`` says: DRF's default
    negotiation parsed the Accept header on every request for one possible answer."""

    def select_parser(self, request, parsers):
        content_type = request.content_type.partition(";")[0].strip().lower()
        return next((p for p in parsers if p.media_type == content_type), None)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def require_object(data) -> dict:
    if not isinstance(data, dict):
        raise ApiError(
            code="not_an_object",
            detail="The body must be a JSON object.",
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    return data
