"""Per storefront key rate limit: a one-second fixed window counted in Redis (or the local cache).

One INCR round trip per request through the process's redis client; if the counter store is
down the request is let through, because refusing a shop's traffic is worse than not limiting it.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from experiments.serving.session_store import redis_client

log = logging.getLogger(__name__)
WINDOW_S = 1


def _count(key: str) -> int:
    client = redis_client()
    if client is None:
        cache.add(key, 0, timeout=WINDOW_S + 1)
        return cache.incr(key)
    with client.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_S + 1)
        return int(pipe.execute()[0])


class StorefrontKeyThrottle(BaseThrottle):
    """Refuses more than ``STOREFRONT_RATE_PER_S`` requests per second per key with 429 + Retry-After."""

    def allow_request(self, request, view) -> bool:
        limit = settings.STOREFRONT_RATE_PER_S
        prefix = getattr(request.user, "prefix", None)
        if not limit or prefix is None:
            return True
        now = time.time()
        self.retry_after = max(math.ceil(WINDOW_S - now % WINDOW_S), 1)
        try:
            return _count(f"{cache.key_prefix}:thr:{prefix}:{int(now // WINDOW_S)}") <= limit
        except Exception:
            log.warning("rate-limit store unavailable; letting storefront traffic through")
            return True

    def wait(self) -> float:
        return float(getattr(self, "retry_after", WINDOW_S))
