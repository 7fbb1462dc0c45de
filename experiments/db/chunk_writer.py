"""Storing a file import's chunks in order, overlapping the database with the parsing.

On PostgreSQL, outside a caller's transaction, a writer thread with its own connection stores
one chunk while the caller parses the next: the database's time and the parsing overlap
(psycopg releases the GIL while it waits). Inside a caller's transaction, or on SQLite,
everything stays on the caller's connection, in that transaction. At most one chunk is in
flight, so memory stays at two chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from django.db import connection

Chunk = TypeVar("Chunk")
Stored = TypeVar("Stored")


class ChunkWriter(Generic[Chunk, Stored]):
    """``write(chunk)`` runs ``store(chunk)``, here or on the writer thread; every result goes to
    ``collect`` in order, on the caller's thread. Leaving the ``with`` block waits for the last
    chunk; an error in ``store`` comes out of the next ``write`` or of the exit."""

    def __init__(
        self, store: Callable[[Chunk], Stored], collect: Callable[[Stored], None], *, name: str
    ) -> None:
        self.store, self.collect = store, collect
        background = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if background else None
        self.pending: Future | None = None

    def __enter__(self) -> ChunkWriter[Chunk, Stored]:
        return self

    def write(self, chunk: Chunk) -> None:
        if self.pool is None:
            self.collect(self.store(chunk))
            return
        self._collect()
        self.pending = self.pool.submit(self.store, chunk)

    def _collect(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.collect(pending.result())

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is None:
            return
        try:
            if exc_info[0] is None:
                self._collect()
            elif self.pending is not None:
                self.pending.exception()  # wait; the caller's error is the one to raise
        finally:
            self.pool.submit(_connection_close).result()
            self.pool.shutdown()


def _connection_close() -> None:
    """Close this thread's database connection (looked up here, in the thread that owns it)."""
    connection.close()
