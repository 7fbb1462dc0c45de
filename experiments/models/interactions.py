from django.db import models


class InteractionType(models.TextChoices):
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"


class Interaction(models.Model):
    """A shop's past interaction, imported to train models (``import_interactions``).

    Kept apart from the event ledger on purpose: these carry no decision and must never reach an
    experiment's posteriors; training reads them together with the ledger's live interactions.
    ``event_id`` is the dedupe key: the shop's own event id, or ``row:<hash of the row>``. It is
    unique by a constraint, not ``unique=True``: on PostgreSQL that would add a second index for
    ``LIKE`` (``varchar_pattern_ops``) which nothing queries and every imported row pays for.
    """

    event_id = models.CharField(max_length=128)
    user_id = models.CharField(max_length=128, blank=True)
    session_id = models.CharField(max_length=128, blank=True)
    item_id = models.CharField(max_length=128)
    type = models.CharField(max_length=20, choices=InteractionType.choices)
    ts = models.DateTimeField(db_index=True)
    value = models.FloatField(null=True, blank=True, help_text="The order line's value (purchases).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_id"], name="interaction_event_id_unique")]

    def __str__(self) -> str:
        return f"{self.type} {self.item_id} {self.ts:%Y-%m-%d}"
