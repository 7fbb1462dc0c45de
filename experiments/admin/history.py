"""The History page's revert form, for every audited admin page: only those who may change may revert."""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied


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
