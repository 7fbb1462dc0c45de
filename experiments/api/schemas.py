"""Serializers that document the storefront contract in the OpenAPI schema.

The storefront views validate with plain functions (``assignment_input`` and
``event_validation``) because they run per request at storefront rates; these classes
describe the same fields for drf-spectacular and API clients.
"""

from rest_framework import serializers

from experiments.domain.event_validation import EVENT_FIELDS
from experiments.domain.item_fields import ITEM_FIELDS
from experiments.services.assignments import FALLBACK_REASONS


class ErrorSerializer(serializers.Serializer):
    """Every API error: a stable ``code``, a human ``detail``, the ``field`` at fault when there is one."""

    code = serializers.CharField(
        help_text="not_authenticated, authentication_failed, malformed_json, not_an_object, "
        "invalid_field, required, unknown_page, payload_too_large, too_many_events, "
        "unsupported_media_type, throttled, not_found, method_not_allowed, database_unavailable, ..."
    )
    detail = serializers.CharField()
    field = serializers.CharField(
        required=False, help_text="The field at fault, with its path: context.cart, k, events, ..."
    )
    errors = serializers.DictField(required=False)
    known_pages = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="With unknown_page: the pages that have slots.",
    )


class ContextSerializer(serializers.Serializer):
    page = serializers.CharField(
        required=False,
        default="product",
        max_length=32,
        help_text="A page with active slots (the schema lists them at the time it is served); "
        "any other is a 400 unknown_page.",
    )
    product_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    cart = serializers.ListField(child=serializers.CharField(min_length=1), required=False, max_length=100)
    device = serializers.CharField(required=False, allow_null=True, max_length=32)


class AssignmentInputSerializer(serializers.Serializer):
    session_id = serializers.CharField(min_length=1, max_length=128)
    user_id = serializers.CharField(max_length=128, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(min_length=1), required=False, max_length=50)
    context = ContextSerializer(required=False)
    k = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)


class ItemSerializer(serializers.Serializer):
    item_id = serializers.CharField()
    score = serializers.FloatField()
    rank = serializers.IntegerField()


class SlotErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class DecisionSerializer(serializers.Serializer):
    slot = serializers.CharField()
    decision_id = serializers.CharField(required=False)
    experiment = serializers.CharField(allow_null=True, required=False)
    variant = serializers.CharField(allow_null=True, required=False)
    propensity = serializers.FloatField(required=False)
    fallback = serializers.BooleanField(required=False)
    reason = serializers.ChoiceField(
        choices=FALLBACK_REASONS,
        required=False,
        help_text="With fallback true, why: unknown_product (product_id not in the catalog) or "
        "missing_product (a product-page slot without product_id) when the variant needs the product; "
        "model_unavailable (no loaded model) or model_error (the model failed).",
    )
    items = ItemSerializer(many=True, required=False)
    error = SlotErrorSerializer(required=False)


class AssignmentOutputSerializer(serializers.Serializer):
    decisions = DecisionSerializer(many=True)
    served_in_ms = serializers.FloatField()


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField(min_length=1, max_length=128)
    type = serializers.ChoiceField(
        choices=["impression", "view", "click", "add_to_cart", "remove_from_cart", "purchase"]
    )
    ts = serializers.DateTimeField()
    session_id = serializers.CharField(min_length=1, max_length=128)
    user_id = serializers.CharField(max_length=128, required=False, allow_null=True)
    decision_id = serializers.CharField(required=False, allow_null=True)
    item_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    value = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1e9,
        help_text="The order's revenue; required for a purchase (else rejected with code required).",
    )
    dwell_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=86_400_000)
    items = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=64),
        required=False,
        allow_null=True,
        max_length=200,
    )


class EventBatchInputSerializer(serializers.Serializer):
    events = serializers.ListField(child=EventSerializer(), max_length=1000)


class RejectedEventSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    field = serializers.CharField(
        help_text="The field at fault; with unknown_field, the unknown field's name."
    )
    code = serializers.CharField(
        help_text="required, not_a_string, too_long, invalid_choice, invalid_timestamp, timezone_required, "
        "in_future, too_old, not_a_number, out_of_range, not_a_list, too_many, invalid_item_id, "
        "invalid_character, invalid_signature, session_mismatch, not_in_decision, not_an_object, "
        "unknown_field (a field the contract does not know)."
    )


def pages_enum_postprocess(result, generator, request, public):
    """drf-spectacular hook: ``context.page`` lists the pages with active slots now, the rule the
    API enforces (``pages_known``), and an event has no properties beyond the contract's."""
    from experiments.services.assignments import pages_known
    from experiments.serving.runtime import serving_state
    from experiments.serving.state import ServingState

    components = result.get("components", {}).get("schemas", {})
    try:
        pages = pages_known(serving_state())
    except Exception:  # generated without a database (``manage.py spectacular``): the default page,
        pages = pages_known(ServingState(version=0, holdout_share=0.0))  # the one always accepted
    if "Context" in components:
        components["Context"]["properties"]["page"]["enum"] = pages
    if "CatalogItem" in components:
        assert set(components["CatalogItem"]["properties"]) == set(ITEM_FIELDS), (
            "CatalogItemSerializer and ITEM_FIELDS differ"
        )
        components["CatalogItem"]["additionalProperties"] = False
    if "Event" in components:
        assert set(components["Event"]["properties"]) == EVENT_FIELDS, (
            "EventSerializer and EVENT_FIELDS differ"
        )
        components["Event"]["additionalProperties"] = False
    return result


class EventBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = RejectedEventSerializer(many=True)


class CatalogItemSerializer(serializers.Serializer):
    """An item upsert: a new item needs item_id, title and price; a stored one only what changes."""

    item_id = serializers.CharField(min_length=1, max_length=64)
    title = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="A path: 'Women > Shoes > Sneakers'."
    )
    brand = serializers.CharField(max_length=200, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    currency = serializers.CharField(min_length=3, max_length=3, required=False, help_text="ISO 4217.")
    available = serializers.BooleanField(required=False)
    attributes = serializers.DictField(required=False, help_text="Free JSON: colour, size, material, ...")
    image_url = serializers.URLField(max_length=1000, required=False, allow_blank=True)
    created_at = serializers.DateTimeField(required=False, help_text="ISO 8601; UTC when no zone is given.")


class ItemBatchInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=CatalogItemSerializer(), max_length=1000)


class RejectedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    item_id = serializers.CharField(allow_null=True)
    field = serializers.CharField(
        help_text="The field at fault; with unknown_field, the unknown field's name."
    )
    code = serializers.CharField(
        help_text="missing_field, unknown_field, invalid_type, invalid_value, not_a_number, bad_currency, "
        "bad_timestamp, too_long, invalid_character, duplicate_id (the same item twice in one batch)."
    )


class ItemBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Items created or changed.")
    unchanged = serializers.IntegerField(
        help_text="Items that already were exactly so (e.g. a retried batch)."
    )
    rejected = RejectedItemSerializer(many=True)
