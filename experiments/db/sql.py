"""The one raw SQL helper: multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING.

Works on PostgreSQL and SQLite (3.35+). Django's ``bulk_create(ignore_conflicts=True)``
cannot say which rows were new, and that is exactly what idempotent intake needs.
"""

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import Model

# SQLite caps bound parameters at 32766; stay well under with any column count.
MAX_PARAMS = 30_000


def _insert_new_unnest(
    model: type[Model],
    columns: tuple[str, ...],
    rows: list[tuple],
    conflict: str,
) -> set:
    """PostgreSQL: one array parameter per column through ``unnest``.

    A statement with thousands of placeholders costs psycopg more to build than the server
    spends inserting; 12 arrays keep the SQL text short, constant and cached.
    """
    quote = connection.ops.quote_name
    fields = {f.column: f for f in model._meta.concrete_fields}
    # %b: each array travels in binary (text arrays would escape every element through a regex).
    arrays = ", ".join(f"%b::{fields[c].db_type(connection)}[]" for c in columns)
    params = [list(column) for column in zip(*rows, strict=True)]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({quote(conflict)}) DO NOTHING RETURNING {quote(conflict)}"
    )
    with server_bound_cursor() as cursor:
        cursor.execute(sql, params)
        return {r[0] for r in cursor.fetchall()}


@contextlib.contextmanager
def server_bound_cursor() -> Iterator:
    """A psycopg cursor on Django's connection (same transaction) that binds parameters on the
    server: Django's client-side cursor quotes every array element into the SQL text through a
    regex, which cost more than half of an events batch's CPU.

    Errors come out as Django's (``OperationalError`` for a lost server, which the API answers
    with 503) and mark the connection, so Django replaces a broken one after the request."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def insert_new_returning(
    model: type[Model],
    columns: tuple[str, ...],
    rows: list[tuple],
    *,
    conflict: str,
) -> set:
    """Insert ``rows``, skipping conflicts on the unique column ``conflict``; return its new values.

    Atomic by itself: one statement on PostgreSQL (outside a transaction it commits on its own,
    with no BEGIN / COMMIT round trips), one atomic block around the chunks on SQLite."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        return _insert_new_unnest(model, columns, rows, conflict)
    with transaction.atomic():
        return _insert_new_chunks(model, columns, rows, conflict)


def _insert_new_chunks(model: type[Model], columns: tuple[str, ...], rows: list[tuple], conflict: str) -> set:
    """SQLite: multi-row VALUES, as many rows per statement as its parameter cap allows."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_sql = ", ".join(quote(c) for c in columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, MAX_PARAMS // len(columns))
    inserted: set = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = (
                f"INSERT INTO {table} ({column_sql}) VALUES {', '.join([one] * len(chunk))} "
                f"ON CONFLICT ({quote(conflict)}) DO NOTHING RETURNING {quote(conflict)}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            inserted.update(r[0] for r in cursor.fetchall())
    return inserted


def upsert_add(model: type[Model], keys: tuple[str, ...], fields: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT rows of (keys..., fields...), or add ``fields`` to the existing row with those keys."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(c) for c in (*keys, *fields))
    one = "(" + ", ".join(["%s"] * (len(keys) + len(fields))) + ")"
    updates = ", ".join(f"{quote(f)} = {table}.{quote(f)} + EXCLUDED.{quote(f)}" for f in fields)
    per_statement = max(1, MAX_PARAMS // (len(keys) + len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} "
                f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row],
            )


def upsert_add_returning(
    model: type[Model], keys: tuple[str, ...], fields: tuple[str, ...], rows: list[tuple]
) -> dict[tuple, tuple]:
    """``upsert_add``, returning each row's keys -> its ``fields`` after the addition.

    Rows must have distinct keys; give them in one fixed order (e.g. sorted) so that concurrent
    callers lock the same rows in the same order."""
    if not rows:
        return {}
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(c) for c in (*keys, *fields))
    one = "(" + ", ".join(["%s"] * (len(keys) + len(fields))) + ")"
    updates = ", ".join(f"{quote(f)} = {table}.{quote(f)} + EXCLUDED.{quote(f)}" for f in fields)
    returning = ", ".join(quote(c) for c in (*keys, *fields))
    per_statement = max(1, MAX_PARAMS // (len(keys) + len(fields)))
    totals: dict[tuple, tuple] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} "
                f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates} "
                f"RETURNING {returning}",
                [value for row in chunk for value in row],
            )
            for row in cursor.fetchall():
                totals[tuple(row[: len(keys)])] = tuple(row[len(keys) :])
    return totals
