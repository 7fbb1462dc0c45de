"""Number formats of the report pages; None (no data yet) shows as a dash.

The rules live in ``experiments.domain.report_numbers``, so the sentences a report writes in Python
and the tables the templates print round every figure the same way.
"""

from django import template
from django.conf import settings

from experiments.domain import report_numbers

register = template.Library()
DASH = report_numbers.DASH


@register.filter
def pct(value, digits: int = 1) -> str:
    """0.0471 -> "4.7%"."""
    return report_numbers.percent(value, digits)


@register.filter
def signed_pct(value, digits: int = 1) -> str:
    """0.12 -> "+12.0%"."""
    return report_numbers.signed_percent(value, digits)


@register.filter
def num(value, digits: int = 4) -> str:
    if value is None:
        return DASH
    return f"{float(value):.{int(digits)}g}"


@register.filter
def count(value) -> str:
    """5120 -> "5,120"."""
    return report_numbers.count(value)


@register.filter
def prob(value) -> str:
    """A probability: "96.4%", "> 99.9%", "< 0.1%"."""
    return report_numbers.probability(value)


@register.filter
def pp(value) -> str:
    """A difference of rates in percentage points: "0.12 pp"."""
    return report_numbers.points(value)


@register.filter
def money(value, digits: int = 2) -> str:
    """An amount in the shop's currency: "$1,234.50"."""
    return report_numbers.money(value, settings.SHOP_CURRENCY, int(digits))


@register.filter
def loss(value, reward_metric: str) -> str:
    """Expected loss: "0.12 pp" of a rate, or currency per impression for revenue."""
    return report_numbers.expected_loss(value, reward_metric=reward_metric, currency=settings.SHOP_CURRENCY)


@register.filter
def reward(value, reward_metric: str) -> str:
    """A reward per impression: a rate as a percentage, revenue in currency."""
    return report_numbers.reward_mean(value, reward_metric=reward_metric, currency=settings.SHOP_CURRENCY)


INTERVAL_KINDS = {
    "pct": lambda v, metric: report_numbers.percent(v),
    "signed_pct": lambda v, metric: report_numbers.signed_percent(v),
    "reward": lambda v, metric: report_numbers.reward_mean(
        v, reward_metric=metric, currency=settings.SHOP_CURRENCY
    ),
    "points": lambda v, metric: report_numbers.points(v),
}


@register.simple_tag
def interval(low, high, kind: str = "pct", reward_metric: str = "click") -> str:
    """``{% interval a.ci_low a.ci_high "reward" report.reward_metric %}`` -> "4.2% … 5.3%" on one line."""
    shown = INTERVAL_KINDS[kind]
    return report_numbers.interval(shown(low, reward_metric), shown(high, reward_metric))


@register.filter
def metric_value(value, unit: str) -> str:
    """A program metric's value in its unit: a rate as "1.8%", a currency amount as "$85.20"."""
    return money(value) if unit == "currency" else pct(value)
