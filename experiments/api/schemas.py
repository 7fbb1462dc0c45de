"""Serializers that document the storefront contract in the OpenAPI schema.

The storefront views validate with plain functions (``assignment_input`` and
``event_validation``) because they run per request at storefront rates; these classes
describe the same fields for drf-spectacular and API clients.
"""

from rest_framework import serializers


class ContextSerializer(serializers.Serializer):
    page = serializers.CharField(required=False, default="product")
    product_id = serializers.CharField(required=False, allow_null=True)
    cart = serializers.ListField(child=serializers.CharField(), required=False)
    device = serializers.CharField(required=False, allow_null=True)


class AssignmentInputSerializer(serializers.Serializer):
    session_id = serializers.CharField(max_length=128)
    user_id = serializers.CharField(max_length=128, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(), required=False, max_length=50)
    context = ContextSerializer(required=False)
    k = serializers.IntegerField(min_value=1, max_value=100, required=False)


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
    event_id = serializers.CharField(max_length=128)
    type = serializers.ChoiceField(
        choices=["impression", "view", "click", "add_to_cart", "remove_from_cart", "purchase"]
    )
    ts = serializers.DateTimeField()
    session_id = serializers.CharField(max_length=128)
    user_id = serializers.CharField(max_length=128, required=False, allow_null=True)
    decision_id = serializers.CharField(required=False, allow_null=True)
    item_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    value = serializers.FloatField(required=False, allow_null=True, min_value=0)
    dwell_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    items = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)


class EventBatchInputSerializer(serializers.Serializer):
    events = EventSerializer(many=True, max_length=1000)


class RejectedEventSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    field = serializers.CharField()
    code = serializers.CharField()


class EventBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = RejectedEventSerializer(many=True)
