"""Storefront API keys: create and revoke, announcing the change to the web processes."""

from django.db import transaction
from rest_framework_api_key.models import APIKey

from experiments.serving.state import serving_version_bump


def storefront_key_create(*, name: str) -> tuple[APIKey, str]:
    with transaction.atomic():
        api_key, key = APIKey.objects.create_key(name=name)
        serving_version_bump()
    return api_key, key


def storefront_key_revoke(*, api_key: APIKey) -> None:
    with transaction.atomic():
        APIKey.objects.filter(pk=api_key.pk).update(revoked=True)
        serving_version_bump()
