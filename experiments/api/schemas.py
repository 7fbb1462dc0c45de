"""Serializers that document the storefront contract in the OpenAPI schema.

The storefront views validate with plain functions (``assignment_input`` and
``event_validation``) because they run per request at storefront rates; these classes
describe the same fields for drf-spectacular and API clients.
"""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every API error: a stable ``code``, a human ``detail``, the ``field`` at fault when there is one."""

    code = serializers.CharField()
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    errors = serializers.DictField(required=False)


class ContextSerializer(serializers.Serializer):
    page = serializers.CharField(required=False, default="product", max_length=32)
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
    value = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1e9)
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
    field = serializers.CharField()
    code = serializers.CharField()


class EventBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = RejectedEventSerializer(many=True)
