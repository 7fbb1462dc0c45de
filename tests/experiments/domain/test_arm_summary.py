"""The arm summary row (what snapshot and report rows hold) and the numbers the report prints."""

from experiments.domain import report_numbers
from experiments.domain.arm_summary import (
    UPLIFT_KEYS,
    report_arm_row,
    snapshot_arm_row,
)

NBSP = "\u00a0"
FIGURES = {
    "prob_best": 0.9312,
    "expected_loss": 0.00021,
    "uplift": 0.12,
    "uplift_ci_low": 0.03,
    "uplift_ci_high": 0.2,
    "prob_beats_control": 0.97,
}


def _snapshot_row(**changes):
    fields = dict(
        arm_key="B", arm_id=7, variant="als-v3", control=False, trials=4000, successes=180, weight=0.8
    )
    return snapshot_arm_row(**{**fields, "figures": FIGURES, **changes})


def test_a_snapshot_row_keeps_the_keys_the_overview_and_history_read():
    row = _snapshot_row()
    for key in (
        "arm",
        "variant",
        "trials",
        "successes",
        "prob_best",
        "expected_loss",
        "weight",
        *UPLIFT_KEYS,
    ):
        assert key in row
    assert (row["arm"], row["trials"], row["prob_best"], row["uplift"]) == ("B", 4000, 0.9312, 0.12)


def test_an_arm_without_impressions_has_no_uplift():
    row = _snapshot_row(trials=0, successes=0)
    assert all(row[key] is None for key in UPLIFT_KEYS)
    assert row["prob_best"] == 0.9312


def test_the_report_row_takes_the_decision_figures_from_the_snapshot_and_the_counts_from_now():
    row = report_arm_row(
        snapshot_row=_snapshot_row(),
        arm_key="B",
        variant="als-v3",
        control=False,
        trials=5000,
        successes=230,
        observed=230 / 5000,
        weight=0.8,
        traffic_share=None,
        posterior={"mean": 0.046, "ci_low": 0.04, "ci_high": 0.052},
    )
    assert (row["prob_best"], row["expected_loss"], row["uplift"]) == (0.9312, 0.00021, 0.12)
    assert (row["trials"], row["trials_at_snapshot"], row["successes_at_snapshot"]) == (5000, 4000, 180)
    assert row["traffic_share"] is None


def test_a_snapshot_written_before_the_uplift_was_stored_reads_it_as_missing():
    old = {
        "arm": "B",
        "variant": "als-v3",
        "trials": 10,
        "successes": 1,
        "prob_best": 0.5,
        "expected_loss": 0.01,
        "weight": 0.5,
    }
    row = report_arm_row(
        snapshot_row=old,
        arm_key="B",
        variant="als-v3",
        control=False,
        trials=12,
        successes=1,
        observed=1 / 12,
        weight=0.5,
        traffic_share=0.475,
        posterior={"mean": 0.1, "ci_low": 0.0, "ci_high": 0.3},
    )
    assert row["uplift"] is None
    assert row["prob_best"] == 0.5


def test_numbers_read_as_people_expect():
    assert report_numbers.percent(0.0471) == "4.7%"
    assert report_numbers.signed_percent(0.12) == "+12.0%"
    assert report_numbers.count(12345) == "12,345"
    assert report_numbers.probability(0.96449) == "96.4%"
    assert report_numbers.probability(0.9996) == "> 99.9%"
    assert report_numbers.probability(0.0) == "< 0.1%"
    assert report_numbers.points(0.0012) == f"0.12{NBSP}pp"
    assert report_numbers.money(1234.5, "USD") == "$1,234.50"
    assert report_numbers.money(3.2, "CHF") == f"CHF{NBSP}3.20"
    assert report_numbers.expected_loss(0.0, reward_metric="click", currency="USD") == f"<{NBSP}0.01{NBSP}pp"
    assert report_numbers.expected_loss(0.0031, reward_metric="revenue", currency="EUR") == "€0.003"
    assert report_numbers.percent(None) == "–"


def test_an_interval_stays_on_one_line_and_is_a_dash_without_either_end():
    shown = report_numbers.interval("4.2%", "5.3%")
    assert shown == f"4.2%{NBSP}…{NBSP}5.3%"
    assert " " not in shown
    assert report_numbers.interval("–", "5.3%") == "–"
