"""The attribution rules, on hand-made exposures and events (no database)."""

import math

import pytest

from experiments.domain.attribution import ExposureState, LedgerEvent, outcomes_attribute

WINDOW_S, SKEW_S = 3600.0, 60.0


def exposure(key, arm, slot=1, session="s", served_at=1000.0, items=("a", "b"), first=1):
    return ExposureState(key, first, 1, arm, slot, session, served_at, tuple(items))


def ev(id_, kind, ts=1100.0, session="s", item="", items=(), value=None, decision=""):
    return LedgerEvent(id_, kind, ts, session, item, tuple(items), value, decision)


def test_two_clicks_on_one_decision_count_one_success():
    exposures = {"d1": exposure("d1", arm=7)}
    result = outcomes_attribute(
        [ev(10, "click", item="a", decision="d1"), ev(11, "click", item="b", decision="d1")],
        exposures,
        window_s=WINDOW_S,
        skew_s=SKEW_S,
    )
    assert result.increments[7].clicks == 1
    assert exposures["d1"].clicked


def test_an_outcome_after_the_window_does_not_count():
    result = outcomes_attribute(
        [ev(10, "click", ts=1000.0 + WINDOW_S + 1, item="a", decision="d1")],
        {"d1": exposure("d1", arm=7)},
        window_s=WINDOW_S,
        skew_s=SKEW_S,
    )
    assert result.increments[7].clicks == 0


def test_a_click_without_decision_goes_to_the_latest_earlier_exposure_showing_the_item():
    exposures = {
        "old": exposure("old", arm=1, served_at=900.0),
        "new": exposure("new", arm=2, served_at=950.0),
        "other": exposure("other", arm=3, served_at=990.0, items=("z",)),
        "later": exposure("later", arm=4, served_at=999.0, first=50),
    }
    events = [ev(10, "click", item="a"), ev(50, "impression", decision="later")]  # "later" revealed after
    result = outcomes_attribute(events, exposures, window_s=WINDOW_S, skew_s=SKEW_S)
    assert {arm: inc.clicks for arm, inc in result.increments.items()} == {2: 1}


def test_earlier_means_earlier_in_the_ledgers_order_not_a_lower_id():
    """On PostgreSQL a later transaction can hold lower ids: the impression below (id 5) was
    stored after the click (id 10), so the click finds no exposure revealed before it."""
    exposures = {"late": exposure("late", arm=4, first=5)}
    events = [ev(10, "click", item="a"), ev(5, "impression", decision="late")]
    result = outcomes_attribute(events, exposures, window_s=WINDOW_S, skew_s=SKEW_S)
    assert result.increments[4].clicks == 0
    assert not exposures["late"].clicked


def test_a_purchase_credits_each_slot_once_with_the_revenue_share_of_its_items():
    exposures = {
        "x": exposure("x", arm=1, slot=1, items=("a",)),
        "y": exposure("y", arm=2, slot=2, items=("b", "c")),
        "y-old": exposure("y-old", arm=2, slot=2, served_at=500.0, items=("b",)),
    }
    result = outcomes_attribute(
        [ev(10, "purchase", items=("a", "b", "q", "r"), value=100.0)],
        exposures,
        window_s=WINDOW_S,
        skew_s=SKEW_S,
    )
    assert result.increments[1].purchases == 1
    assert result.increments[2].purchases == 1
    assert result.increments[1].revenue_sum == pytest.approx(25.0)
    assert result.increments[2].revenue_sum == pytest.approx(25.0)
    assert result.increments[2].log_revenue_sum == pytest.approx(math.log(25.0))
    assert not exposures["y-old"].purchased


def test_a_second_purchase_grows_the_decisions_revenue_not_its_purchase_count():
    exposures = {"x": exposure("x", arm=1, items=("a",))}
    result = outcomes_attribute(
        [ev(10, "purchase", item="a", value=30.0), ev(11, "purchase", item="a", value=10.0)],
        exposures,
        window_s=WINDOW_S,
        skew_s=SKEW_S,
    )
    inc = result.increments[1]
    assert (inc.purchases, inc.revenue_sum) == (1, pytest.approx(40.0))
    assert inc.revenue_sq_sum == pytest.approx(40.0**2)
    assert inc.log_revenue_sum == pytest.approx(math.log(40.0))


def test_holdout_exposures_are_marked_but_credit_no_arm():
    exposures = {"h": ExposureState("h", 1, None, None, 1, "s", 1000.0, ("a",))}
    result = outcomes_attribute(
        [ev(10, "click", item="a", decision="h")], exposures, window_s=WINDOW_S, skew_s=SKEW_S
    )
    assert exposures["h"].clicked
    assert dict(result.increments) == {}
