"""The History page of audited admin pages: who may revert, and history rows people can read."""

from datetime import datetime

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.utils import formats, timezone
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from experiments.models import Arm

NO_VALUE = "–"


class RevertPermissionMixin:
    """django-simple-history checks only the view permission on its revert form, and merely hides
    the Revert button from viewers, so an analyst's hand-made POST reverted an experiment. A POST
    now needs the change permission."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if not self.has_change_history_permission(request, obj):
                raise PermissionDenied("Reverting needs the permission to change this object.")
        return super().history_form_view(request, object_id, version_id, extra_context)


def arm_words(arm: Arm) -> str:
    """An arm as merchandisers pick it: its key and the variant it serves ("B: pdp_similar-als")."""
    return f"{arm.key}: {arm.variant.key}"


def time_words(value: datetime | None) -> str:
    """A time as the admin shows its own dates ("Dec. 7, 2026, 3:56 a.m."), in the site's time zone."""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else NO_VALUE


def system_actor_words(change_reason: str | None) -> str:
    """Who made a change that no user made, from its reason.

    Changes made by the system (the allocation recompute, auto-conclude, a guardrail breach) record
    a reason that starts with its kind and a colon ("Allocation recompute: version 12"); the kind is
    what the History page names in "Changed by" ("System: allocation recompute").
    """
    kind = (change_reason or "").partition(":")[0].strip()
    return f"System: {kind[:1].lower()}{kind[1:]}" if kind else "System"


class ReadableDeltaHelper(HistoricalRecordContextHelper):
    """Changes as people read them: an arm by its key and variant, no value as "–", a time as the
    admin's own dates.

    simple-history shows an empty foreign key (a winner before there was one) as
    "Deleted arm (pk=None)"; an arm that is gone is named from its own history when it has one.
    """

    def prepare_delta_change_value(self, change, value):
        if value is None:
            return NO_VALUE
        if isinstance(value, datetime):
            return time_words(value)
        if isinstance(value, DeletedObject):
            if value.pk is None:
                return NO_VALUE
            if value.model is Arm:
                record = Arm.history.filter(id=value.pk).select_related("variant").first()
                return arm_words(record) if record else value
        if isinstance(value, Arm):
            return arm_words(value)
        return super().prepare_delta_change_value(change, value)


class ReadableHistoryMixin:
    """The History list names system changes in "Changed by" and shows readable field changes."""

    object_history_list_template = "admin/experiments/experiment/object_history_list.html"

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableDeltaHelper(self.model, historical_record)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        for record in historical_records:
            if record.history_user_id is None:
                record.system_actor = system_actor_words(record.history_change_reason)
