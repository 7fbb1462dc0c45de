from django.db import models


class EventType(models.TextChoices):
    IMPRESSION = "impression"
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    PURCHASE = "purchase"


class CurrentTransactionId(models.Func):
    """The inserting transaction's id, ``pg_current_xact_id()``. SQLite has no transaction ids:
    0, and its single writer commits ids in the order it draws them."""

    function = "pg_current_xact_id"
    template = "%(function)s()"
    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return "0", []


class TransactionIdField(models.BigIntegerField):
    """A PostgreSQL ``xid8`` (a 64-bit transaction id that never wraps), read as an int."""

    def db_type(self, connection):
        return "xid8" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        return None if value is None else int(value)


class Event(models.Model):
    """The event ledger: every accepted storefront event, once per ``event_id``, forever.

    Decision fields are copied from the verified ``decision_id`` token at intake so the
    posterior update never has to parse or trust the token again.
    """

    event_id = models.CharField(max_length=128, unique=True)
    type = models.CharField(max_length=20, choices=EventType.choices)
    ts = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    session_id = models.CharField(max_length=128, db_index=True)
    user_id = models.CharField(max_length=128, blank=True)
    item_id = models.CharField(max_length=64, blank=True)
    items = models.JSONField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    dwell_ms = models.IntegerField(null=True, blank=True)
    decision_key = models.CharField(max_length=32, blank=True, help_text="Nonce of the quoted decision.")
    decision = models.JSONField(null=True, blank=True, help_text="Verified payload of the quoted decision.")
    applied_at = models.DateTimeField(null=True, blank=True)
    xid = TransactionIdField(
        db_default=CurrentTransactionId(),
        editable=False,
        help_text="Transaction that stored the event: the ledger's order is (xid, id).",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["xid", "id"], name="event_unapplied_xid", condition=models.Q(applied_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Exposure(models.Model):
    """One decision that a shopper saw: the unit a Bernoulli trial counts.

    Created by the first ledger event quoting the decision (usually its impression);
    the outcome flags make each outcome count once per decision.
    """

    decision_key = models.CharField(max_length=32, unique=True)
    first_event_id = models.BigIntegerField(help_text="Ledger id of the event that revealed this exposure.")
    experiment_id = models.BigIntegerField(null=True, db_index=True)
    arm_id = models.BigIntegerField(null=True)
    slot_id = models.BigIntegerField()
    holdout = models.BooleanField(default=False)
    allocation_version = models.PositiveIntegerField(default=0)
    propensity = models.FloatField()
    session_id = models.CharField(max_length=128)
    unit = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="What its decisions cluster by (session or user id); blank for request units.",
    )
    served_at = models.DateTimeField()
    items = models.JSONField()
    clicked = models.BooleanField(default=False)
    added_to_cart = models.BooleanField(default=False)
    purchased = models.BooleanField(default=False)
    revenue = models.FloatField(default=0.0)

    class Meta:
        indexes = [models.Index(fields=["session_id", "served_at"], name="exposure_session_time")]

    def __str__(self) -> str:
        return f"exposure {self.decision_key}"
