"""Storefront API keys in the admin: django-rest-framework-api-key's page, with every change announced.

Its own admin saves and deletes keys without telling the web processes, which hold the key hashes
in memory: a key revoked there kept working until some unrelated change.
"""

from django.contrib import admin, messages
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from experiments.services.storefront_keys import storefront_key_save, storefront_keys_delete


class StorefrontKeyAdmin(APIKeyModelAdmin):
    def save_model(self, request, obj, form=None, change=False):
        key = None if change else APIKey.objects.assign_key(obj)
        storefront_key_save(api_key=obj)
        if key is not None:
            messages.warning(
                request,
                f"The API key for {obj.name} is: {key}. Please store it somewhere safe: "
                "you will not be able to see it again.",
            )

    def delete_model(self, request, obj):
        storefront_keys_delete(api_keys=[obj])

    def delete_queryset(self, request, queryset):
        storefront_keys_delete(api_keys=list(queryset))


if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)
admin.site.register(APIKey, StorefrontKeyAdmin)
