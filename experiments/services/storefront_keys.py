"""Storefront API keys: create and revoke, announcing the change to the web processes."""

from collections.abc import Iterable

from django.db import transaction
from rest_framework_api_key.models import APIKey

from .serving_version import serving_version_bump


def storefront_key_create(*, name: str) -> tuple[APIKey, str]:
    with transaction.atomic():
        api_key, key = APIKey.objects.create_key(name=name)
        serving_version_bump()
    return api_key, key


def storefront_key_revoke(*, api_key: APIKey) -> None:
    with transaction.atomic():
        APIKey.objects.filter(pk=api_key.pk).update(revoked=True)
        serving_version_bump()


def storefront_key_save(*, api_key: APIKey) -> APIKey:
    """Save a key made or edited in the admin (name, expiry, revoked) and announce it, so a new key
    works and a revoked or expired one stops within ``SERVING_REFRESH_S``, not at the next unrelated
    change. A new key must already have its secret assigned (``APIKey.objects.assign_key``)."""
    with transaction.atomic():
        api_key.save()
        serving_version_bump()
    return api_key


def storefront_keys_delete(*, api_keys: Iterable[APIKey]) -> None:
    with transaction.atomic():
        for api_key in api_keys:
            api_key.delete()
        serving_version_bump()
