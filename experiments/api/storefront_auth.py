"""Storefront API keys (djangorestframework-api-key), verified without a per-request query.

Keys are stored and managed by ``rest_framework_api_key``; the serving state holds the
usable keys' hashes, refreshed with the serving version, so verification is one SHA-512.
"""

import time

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_api_key.crypto import KeyGenerator

from experiments.serving.runtime import serving_state

KEYWORD = "Api-Key"
_generator = KeyGenerator()


class StorefrontKey:
    """The authenticated caller of storefront endpoints (not a Django user)."""

    is_authenticated = True

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix


def storefront_key_verify(header: str) -> StorefrontKey:
    """The caller named by an ``Authorization`` header; raises DRF's 401 exceptions otherwise."""
    keyword, _, key = header.partition(" ")
    if keyword.lower() != KEYWORD.lower() or not key:
        raise exceptions.NotAuthenticated("Send the storefront key as 'Authorization: Api-Key <key>'.")
    prefix = key.partition(".")[0]
    entry = serving_state().api_keys.get(prefix)
    if entry is None or not _generator.verify(key, entry[0]):
        raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
    if entry[1] is not None and entry[1] < time.time():
        raise exceptions.AuthenticationFailed("This API key has expired.")
    return StorefrontKey(prefix)


class StorefrontKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return storefront_key_verify(header), header.partition(" ")[2]

    def authenticate_header(self, request) -> str:
        return KEYWORD


class StorefrontKeyScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how storefront keys travel (``Authorization: Api-Key <key>``)."""

    target_class = StorefrontKeyAuthentication
    name = "StorefrontKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Send `Api-Key <key>` (see create_storefront_key).",
        }
