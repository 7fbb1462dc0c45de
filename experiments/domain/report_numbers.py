"""Numbers as people read them on the report pages, in the admin and in the report's sentences.

One function per kind of figure, so a headline sentence and the table beside it print the same
value the same way: percentages with one decimal, thousands separators, expected loss in
percentage points (rates) or currency (revenue), currency with its symbol, and "–" for no data.
Intervals join their ends with no-break spaces, so they never wrap across lines.
"""

import math

DASH = "–"
NBSP = "\u00a0"
# Symbols of the currencies a shop is likely to set in SHOP_CURRENCY; any other shows its code.
CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "BRL": "R$",
    "MXN": "MX$",
}
# Digits of an amount per impression (revenue per impression, its expected loss): cents are too coarse.
PER_IMPRESSION_DIGITS = 3


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def count(value) -> str:
    """5120 -> "5,120"."""
    return DASH if _missing(value) else f"{round(float(value)):,}"


def percent(value, digits: int = 1) -> str:
    """0.0471 -> "4.7%"."""
    return DASH if _missing(value) else f"{float(value) * 100:,.{int(digits)}f}%"


def signed_percent(value, digits: int = 1) -> str:
    """0.12 -> "+12.0%"; a relative uplift."""
    return DASH if _missing(value) else f"{float(value) * 100:+,.{int(digits)}f}%"


def probability(value) -> str:
    """A Monte Carlo probability with one decimal; never a certain-looking "100.0%" or "0.0%"."""
    if _missing(value):
        return DASH
    value = float(value)
    if value >= 0.9995:
        return "> 99.9%"
    if value < 0.0005:
        return "< 0.1%"
    return percent(value)


def points(value) -> str:
    """A difference of rates in percentage points: 0.0012 -> "0.12 pp"."""
    if _missing(value):
        return DASH
    pp = float(value) * 100
    if 0 < pp < 0.005:
        return f"<{NBSP}0.01{NBSP}pp"
    return f"{pp:,.2f}{NBSP}pp"


def currency_symbol(currency: str) -> str:
    """ "$" for USD; a currency without a symbol here is written by its code."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())


def money(value, currency: str, digits: int = 2) -> str:
    """1234.5 -> "$1,234.50" (the shop's currency symbol, or its code when it has no symbol here)."""
    if _missing(value):
        return DASH
    value = float(value)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()}{NBSP}")
    smallest = 10 ** -int(digits)
    if 0 < abs(value) < smallest / 2:
        return f"<{NBSP}{symbol}{smallest:.{int(digits)}f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{int(digits)}f}"


def expected_loss(value, *, reward_metric: str, currency: str) -> str:
    """The cost of choosing an arm now: percentage points of a rate, currency per impression for revenue.

    A Monte Carlo loss of exactly 0 (no draw favoured another arm) still reads "< 0.01 pp": it is small,
    not known to be nothing."""
    revenue = reward_metric == "revenue"
    if value == 0:
        smallest = (
            money(10**-PER_IMPRESSION_DIGITS, currency, PER_IMPRESSION_DIGITS) if revenue else points(0.0001)
        )
        return f"<{NBSP}{smallest}"
    return money(value, currency, PER_IMPRESSION_DIGITS) if revenue else points(value)


def reward_mean(value, *, reward_metric: str, currency: str) -> str:
    """A rate as a percentage, or revenue per impression in currency."""
    if reward_metric == "revenue":
        return money(value, currency, PER_IMPRESSION_DIGITS)
    return percent(value)


def interval(low: str, high: str) -> str:
    """Two formatted ends on one unbreakable line: "4.2% … 5.3%"; a dash when either is missing."""
    if DASH in (low, high):
        return DASH
    return f"{low}{NBSP}…{NBSP}{high}"
