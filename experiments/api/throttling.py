"""Per storefront key rate limit: a one-second fixed window counted in Redis (or the local cache).

Counting every request in Redis cost a round trip per request, about a sixth of a one-slot
assignment's CPU. Each process therefore counts locally and adds its count to the shared
window counter at most every ``SYNC_S`` seconds, and on every request once the key is past
half its limit, where accuracy matters. Far below the limit a key can be let through
up to (processes x ``SYNC_S`` x its rate) requests more than the limit before the counts
meet; near the limit the count is exact to the round trip. If the counter store is down the
request is let through: refusing a shop's traffic is worse than not limiting it.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from experiments.serving.session_store import redis_client

log = logging.getLogger(__name__)
WINDOW_S = 1
SYNC_S = 0.05


def _shared_add(key: str, amount: int) -> int:
    """Add ``amount`` to the window counter shared by all processes; return the new total."""
    client = redis_client()
    if client is None:
        cache.add(key, 0, timeout=WINDOW_S + 1)
        return cache.incr(key, amount)
    with client.pipeline(transaction=False) as pipe:
        pipe.incrby(key, amount)
        pipe.expire(key, WINDOW_S + 1)
        return int(pipe.execute()[0])


@dataclass(slots=True)
class _Window:
    index: int
    shared: int = 0  # the key's count over all processes at the last sync
    pending: int = 0  # requests counted here since then
    synced_at: float = -math.inf


class RateLimiter:
    """One process's view of the per-key windows (module-level ``limiter``; tests make more)."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def admit(self, prefix: str, limit: int, now: float) -> bool:
        index = int(now // WINDOW_S)
        with self._lock:
            window = self._windows.get(prefix)
            if window is None or window.index != index:
                window = self._windows[prefix] = _Window(index)
            window.pending += 1
            if now - window.synced_at < SYNC_S and 2 * (window.shared + window.pending) < limit:
                return True
            amount, window.pending, window.synced_at = window.pending, 0, now
        try:
            total = _shared_add(f"{cache.key_prefix}:thr:{prefix}:{index}", amount)
        except Exception:
            log.warning("rate-limit store unavailable; letting storefront traffic through")
            return True
        with self._lock:
            window.shared = max(window.shared, total)
            return total <= limit


limiter = RateLimiter()


def storefront_key_admit(prefix: str | None) -> int | None:
    """None if the key may make this request now, else the seconds to wait (for Retry-After)."""
    limit = settings.STOREFRONT_RATE_PER_S
    if not limit or prefix is None:
        return None
    now = time.time()
    if limiter.admit(prefix, limit, now):
        return None
    return max(math.ceil(WINDOW_S - now % WINDOW_S), 1)


class StorefrontKeyThrottle(BaseThrottle):
    """Refuses more than ``STOREFRONT_RATE_PER_S`` requests per second per key with 429 + Retry-After."""

    def allow_request(self, request, view) -> bool:
        self.retry_after = storefront_key_admit(getattr(request.user, "prefix", None))
        return self.retry_after is None

    def wait(self) -> float:
        return float(self.retry_after or WINDOW_S)
