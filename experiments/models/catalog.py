from django.conf import settings
from django.db import models

CATEGORY_SEPARATOR = " > "


def shop_currency() -> str:
    return settings.SHOP_CURRENCY


class Item(models.Model):
    """A product of the shop's catalog, in the shop's own words (names, not codes).

    The runtime trains and serves from a snapshot of these and encodes category paths and brands
    to codes itself. ``available`` is false for items out of stock or delisted: they are never
    served. Items are never deleted by an import; a full import marks missing ones unavailable.
    """

    item_id = models.CharField(max_length=128, unique=True, help_text="The shop's own id.")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    category = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="A path of names from the top, e.g. 'Women > Shoes > Sneakers'.",
    )
    brand = models.CharField(max_length=200, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=shop_currency, help_text="ISO 4217 code.")
    available = models.BooleanField(default=True, db_index=True, help_text="In stock and listed.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Colour, size, material, ...")
    image_url = models.URLField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(help_text="When the item was first listed.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.item_id} {self.title}"

    @property
    def category_path(self) -> list[str]:
        """The category as a list of names from the top ([] when none)."""
        return category_path_split(self.category)


def category_path_split(category: str) -> list[str]:
    """``'Women > Shoes > Sneakers'`` -> ``['Women', 'Shoes', 'Sneakers']`` (blank levels dropped)."""
    return [part.strip() for part in category.split(">") if part.strip()]
