"""Helpers for tests of the ledger's order on PostgreSQL: other backends, posts held open."""

import contextlib
import threading

from django.db import connection


def connect_other(dbname: str, **kwargs):
    """A connection of its own (another backend) to ``dbname`` on the test server."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=dbname, **kwargs
    )


@contextlib.contextmanager
def post_held_open(events: list[dict]):
    """Post ``events`` from another connection and keep its transaction open (stored, ids
    drawn, not committed) until the block ends."""
    from django.db import transaction

    from experiments.services.events import events_record

    stored, release, errors = threading.Event(), threading.Event(), []

    def post():
        try:
            with transaction.atomic():
                events_record(events=events)
                stored.set()
                release.wait(10)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            stored.set()
            connection.close()

    thread = threading.Thread(target=post)
    thread.start()
    try:
        assert stored.wait(10)
        yield
    finally:
        release.set()
        thread.join()
    assert not errors
