"""Number formats of the report pages; None (no data yet) shows as a dash."""

from django import template

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
def thousands(value) -> str:
    """12345 -> "12,345"."""
    if value is None:
        return DASH
    return f"{int(value):,}"
