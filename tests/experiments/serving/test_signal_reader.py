"""The assignment path reads session signals over its own Redis connection: it must survive a
dropped connection, never share a socket with a forked child, and fail fast when Redis is gone."""

import os
import time

import pytest

from experiments.serving import session_store

pytestmark = pytest.mark.services

VIEW = {
    "type": "view",
    "session_id": "reader",
    "item_id": "i-1",
    "dwell_ms": 900.0,
    "ts": "2026-12-02T10:00:00Z",
}


def _reader_client_id() -> int:
    conn = session_store._reader.conn
    conn.send_command("CLIENT", "ID")
    return int(conn.read_response())


def test_signals_written_by_the_events_path_are_read_back():
    session_store.signals_update([VIEW])
    assert session_store.signals_read("reader") == {"viewed": [["i-1", 900.0]], "cart": [], "removed": []}
    assert session_store.signals_read("nobody") == {}


def test_a_connection_dropped_by_the_server_is_replaced_without_losing_the_read():
    session_store.signals_update([VIEW])
    assert session_store.signals_read("reader")
    killed = _reader_client_id()
    session_store.redis_client().client_kill_filter(_id=killed)
    assert session_store.signals_read("reader")["viewed"] == [["i-1", 900.0]]
    assert _reader_client_id() != killed


def test_a_forked_child_opens_its_own_connection():
    session_store.signals_update([VIEW])
    assert session_store.signals_read("reader")
    parent_id = _reader_client_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: read through the inherited module state, report its connection's id
        try:
            ok = session_store.signals_read("reader").get("viewed") == [["i-1", 900.0]]
            os.write(write, f"{int(ok)} {_reader_client_id()}".encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    ok, child_id = os.read(read, 100).decode().split()
    assert ok == "1"
    assert int(child_id) != parent_id
    assert session_store.signals_read("reader")  # the parent's socket was not disturbed


def test_with_redis_refusing_connections_a_read_is_empty_and_fast(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    session_store.redis_client.cache_clear()
    session_store._reader.__dict__.clear()  # the next read opens a connection to that URL
    try:
        started = time.perf_counter()
        assert session_store.signals_read("reader") == {}
        assert time.perf_counter() - started < 0.2
    finally:
        session_store.redis_client.cache_clear()
        session_store._reader.__dict__.clear()


def test_any_session_id_makes_a_short_safe_key():
    odd = "s\x00 \u00e9\U001043af" + "x" * 120
    keys = {session_store._key(odd), session_store._key(odd + "y"), session_store._key("s")}
    assert len(keys) == 3
    assert all(len(k) < 80 and k.isprintable() and " " not in k for k in keys)
    session_store.signals_update([VIEW | {"session_id": odd}])
    assert session_store.signals_read(odd)["viewed"] == [["i-1", 900.0]]
    assert session_store.signals_read(odd + "y") == {}
