"""What every admin page of something the storefront serves shares: deleting announces the change."""

from experiments.services.program_settings import serving_config_delete


class ServingConfigDeleteMixin:
    """Deletes (one, or the bulk action) through ``serving_config_delete``, so web processes stop
    serving a deleted slot or variant within ``SERVING_REFRESH_S``."""

    def delete_model(self, request, obj):
        serving_config_delete(objs=[obj])

    def delete_queryset(self, request, queryset):
        serving_config_delete(objs=list(queryset))
