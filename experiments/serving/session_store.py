"""Each session's recent signals (views with dwell, cart, removals), kept in the cache.

Redis in services mode, so every web process sees what the events endpoint wrote.
Reads and writes never raise: without the cache a session simply has no signals.
"""

import hashlib
import logging
import os
import threading
from functools import lru_cache

import orjson
import redis
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)
SESSION_TTL_S = 2 * 86_400
MAX_VIEWED = 20
MAX_CART = 50


def _key(session_id: str) -> str:
    """The cache key of a session's signals: a hash of its id, so whatever a storefront sends as
    a session id (spaces, control characters, 128 characters) makes a short, safe key."""
    digest = hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    return f"{cache.key_prefix}:sig:{digest}"


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis | None:
    """One redis-py client per process when REDIS_URL is set.

    Django's cache builds a new client object on every call, which cost more than the
    read itself on the assignment hot path; signals are plain JSON, so no pickling either.
    """
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.2, socket_connect_timeout=0.2)


_reader = threading.local()


def _reader_connection(client: redis.Redis) -> redis.Connection:
    """This process's and thread's own connection for the hot read.

    A command through ``redis.Redis`` takes a connection from the pool, wraps it in retry and
    health-check logic and gives it back: more than half of a GET's CPU on the assignment path.
    """
    pid = os.getpid()
    if getattr(_reader, "pid", None) != pid:  # new thread, or a forked child: never share a socket
        pool = client.connection_pool
        _reader.conn, _reader.pid, _reader.used = pool.connection_class(**pool.connection_kwargs), pid, False
    return _reader.conn


def _get_one(key: str) -> dict | None:
    client = redis_client()
    if client is None:
        return cache.get(key)
    conn = _reader_connection(client)
    while True:
        try:
            conn.send_command("GET", key)
            raw = conn.read_response()
            break
        except Exception as exc:
            conn.disconnect()  # a half-read reply must not be taken as the next command's
            # A socket that served before and broke since (Redis restarted, idle connection
            # dropped) gets one fresh connect; a refused or timed-out new one is not retried.
            if not (_reader.used and isinstance(exc, redis.ConnectionError)):
                raise
            _reader.used = False
    _reader.used = True
    return None if raw is None else orjson.loads(raw)


def _get_many(keys: list[str]) -> dict[str, dict]:
    client = redis_client()
    if client is None:
        return cache.get_many(keys)
    return {k: orjson.loads(v) for k, v in zip(keys, client.mget(keys), strict=True) if v is not None}


def _set_many(values: dict[str, dict]) -> None:
    client = redis_client()
    if client is None:
        cache.set_many(values, timeout=SESSION_TTL_S)
        return
    with client.pipeline(transaction=False) as pipe:
        for key, value in values.items():
            pipe.set(key, orjson.dumps(value), ex=SESSION_TTL_S)
        pipe.execute()


def signals_read(session_id: str) -> dict:
    """``{"viewed": [[item_id, dwell_ms], ...], "cart": [...], "removed": [...]}``, empty on any failure."""
    try:
        value = _get_one(_key(session_id))
    except Exception:
        log.warning("session store unavailable")
        return {}
    return value if isinstance(value, dict) else {}


def _apply(signals: dict, event: dict) -> None:
    kind, item = event["type"], event.get("item_id")
    viewed, cart, removed = (
        signals.setdefault("viewed", []),
        signals.setdefault("cart", []),
        signals.setdefault("removed", []),
    )
    if kind in ("view", "click") and item:
        dwell = float(event.get("dwell_ms") or 0.0)
        viewed[:] = [v for v in viewed if v[0] != item] + [[item, dwell]]
        del viewed[:-MAX_VIEWED]
    elif kind == "add_to_cart" and item and item not in cart:
        cart.append(item)
        del cart[:-MAX_CART]
        if item in removed:
            removed.remove(item)
    elif kind == "remove_from_cart" and item:
        if item in cart:
            cart.remove(item)
        removed[:] = [r for r in removed if r != item] + [item]
        del removed[:-MAX_CART]
    elif kind == "purchase":
        cart.clear()


def signals_update(events: list[dict]) -> None:
    """Fold accepted events into their sessions' signals (one read and one write per session)."""
    by_session: dict[str, list[dict]] = {}
    for event in events:
        if event["type"] in ("view", "click", "add_to_cart", "remove_from_cart", "purchase"):
            by_session.setdefault(event["session_id"], []).append(event)
    if not by_session:
        return
    try:
        current = _get_many([_key(s) for s in by_session])
        updated = {}
        for session_id, session_events in by_session.items():
            signals = current.get(_key(session_id)) or {}
            for event in sorted(session_events, key=lambda e: e["ts"]):
                _apply(signals, event)
            updated[_key(session_id)] = signals
        _set_many(updated)
    except Exception:
        # The ledger already holds the events; only personalisation of the next page suffers.
        log.warning("session store unavailable; %d sessions not updated", len(by_session))
