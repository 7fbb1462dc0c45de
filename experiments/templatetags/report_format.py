"""Number formats of the report pages; None (no data yet) shows as a dash."""

from django import template
from django.conf import settings

from experiments.domain.money import money_format

register = template.Library()
DASH = "–"


@register.filter
def pct(value, digits: int = 1) -> str:
    """0.0471 -> "4.7%"."""
    if value is None:
        return DASH
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def signed_pct(value, digits: int = 1) -> str:
    """0.12 -> "+12.0%"."""
    if value is None:
        return DASH
    return f"{float(value) * 100:+.{int(digits)}f}%"


@register.filter
def num(value, digits: int = 4) -> str:
    if value is None:
        return DASH
    return f"{float(value):.{int(digits)}g}"


@register.filter
def money(value) -> str:
    """12.5 -> "$12.50" (the shop's currency)."""
    if value is None:
        return DASH
    return money_format(float(value), settings.SHOP_CURRENCY)


@register.filter
def metric_value(value, unit: str) -> str:
    """A program metric's value in its unit: a rate as "1.8%", a currency amount as "$85.20"."""
    return money(value) if unit == "currency" else pct(value)


@register.filter
def intcomma_plain(value) -> str:
    """12345 -> "12,345"."""
    if value is None:
        return DASH
    return f"{int(value):,}"
