from django.db import models


class Item(models.Model):
    """A product of the shop's catalog; the runtime trains and serves from a snapshot of these."""

    item_id = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255)
    category = models.IntegerField(default=0)
    brand = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.item_id} {self.title}"
