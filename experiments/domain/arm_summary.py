"""What one arm's summary row holds, in one place for every reader and writer of it.

The allocation writes a row per arm into its ``PosteriorSnapshot`` (``snapshot_arm_row``); the
report takes the decision figures (P(best), expected loss, uplift) from that snapshot, the one that
set the current weights, and puts today's counts beside them (``report_arm_row``), so the page,
its JSON and CSV, the admin's arm columns and the API schema (``ARM_FIELDS``) all say the same.

Snapshot rows keep the keys the overview and the history read (arm, variant, trials, successes,
prob_best, expected_loss, weight, the uplift fields); rows written before a key existed read it
as missing (``None``), never as an error.
"""

from collections.abc import Mapping
from dataclasses import dataclass

UPLIFT_KEYS = ("uplift", "uplift_ci_low", "uplift_ci_high", "prob_beats_control")
DECISION_KEYS = ("prob_best", "expected_loss", *UPLIFT_KEYS)
# Metric -> (what a success is called, the observed column's heading).
METRIC_WORDS = {
    "click": ("clicks", "Observed rate (clicks / impressions)"),
    "add_to_cart": ("add-to-carts", "Observed rate (add-to-carts / impressions)"),
    "purchase": ("purchases", "Observed rate (purchases / impressions)"),
    "revenue": ("purchases", "Observed revenue per impression (revenue / impressions, uncapped)"),
}


@dataclass(frozen=True)
class ArmField:
    """One key of a report arm row: its JSON type, whether it may be null or absent, and its meaning."""

    key: str
    kind: str  # text | bool | integer | number | object
    help: str
    nullable: bool = False
    optional: bool = False  # present only for some experiments (revenue, clustered units)
    csv: bool = True


ARM_FIELDS = (
    ArmField("arm", "text", "Arm key."),
    ArmField("variant", "text", "Key of the variant the arm serves."),
    ArmField("control", "bool", "True for the control arm."),
    ArmField("trials", "integer", "Impressions (decisions served) of the arm, now."),
    ArmField("successes", "integer", "Impressions with the reward event (purchases for revenue), now."),
    ArmField(
        "trials_at_snapshot",
        "integer",
        "Impressions when the decision figures (P(best), expected loss, uplift) were computed: at the "
        "allocation snapshot named in figures_as_of, or now when there is none.",
    ),
    ArmField("successes_at_snapshot", "integer", "Successes at that same moment."),
    ArmField(
        "observed_mean",
        "number",
        "Observed successes / impressions now (revenue: uncapped revenue per impression); null without "
        "impressions.",
        nullable=True,
    ),
    ArmField(
        "effective_sample_size",
        "number",
        "Trials / design effect: the independent decisions the arm's data is worth. Equal to trials for "
        "request units; smaller for session and user units, whose decisions are correlated.",
    ),
    ArmField(
        "design_effect",
        "number",
        "Cluster-robust (delta-method) variance of the rate over the per-decision binomial one, at least 1;"
        " the posterior, intervals, uplift and always-valid test use the cluster-robust one.",
    ),
    ArmField(
        "units",
        "integer",
        "Sessions or users with a decision in the arm; null for request units.",
        nullable=True,
    ),
    ArmField("mean", "number", "Posterior mean now: the rate, or revenue per impression for revenue."),
    ArmField("ci_low", "number", "Lower end of the 95% credible interval of the mean."),
    ArmField("ci_high", "number", "Upper end of the 95% credible interval of the mean."),
    ArmField("prob_best", "number", "Posterior probability that the arm is best (see figures_as_of)."),
    ArmField(
        "expected_loss",
        "number",
        "Expected loss of choosing the arm, in reward units: a rate difference (0.001 = 0.1 percentage "
        "points) or currency per impression for revenue (see figures_as_of).",
    ),
    ArmField(
        "prob_beats_control",
        "number",
        "P(arm beats control); null for the control or no data.",
        nullable=True,
    ),
    ArmField(
        "uplift",
        "number",
        "Posterior mean relative uplift vs control; null for the control or an arm without impressions.",
        nullable=True,
    ),
    ArmField(
        "uplift_ci_low",
        "number",
        "Lower end of the 95% interval of the uplift; null as uplift.",
        nullable=True,
    ),
    ArmField(
        "uplift_ci_high",
        "number",
        "Upper end of the 95% interval of the uplift; null as uplift.",
        nullable=True,
    ),
    ArmField("weight", "number", "Current allocation weight among the experiment's arms."),
    ArmField(
        "traffic_share",
        "number",
        "Share of all slot traffic: weight x (1 - holdout share); null while the experiment serves no "
        "traffic (draft, paused or concluded).",
        nullable=True,
    ),
    ArmField(
        "revenue_observed",
        "number",
        "Revenue experiments: observed revenue, uncapped (money).",
        optional=True,
    ),
    ArmField(
        "revenue_per_impression_observed",
        "number",
        "Revenue experiments: observed revenue per impression, uncapped; decisions use order values capped "
        "at the report's order_value_cap.",
        optional=True,
    ),
    ArmField(
        "aov_observed",
        "number",
        "Revenue experiments: observed average order value, uncapped; null without purchases.",
        nullable=True,
        optional=True,
    ),
    ArmField(
        "guardrail_breach",
        "object",
        "Null unless the arm breached a guardrail. Sticky: a breached arm stays flagged, is held at the "
        "exploration floor under a bandit policy, and cannot be promoted without an override.",
        nullable=True,
        optional=True,
        csv=False,
    ),
)
CSV_ARM_COLUMNS = tuple(f.key for f in ARM_FIELDS if f.csv and not f.optional)


def arm_column_labels(reward_metric: str) -> dict:
    """Column headings of the arm figures, in the metric's words and units."""
    noun, observed = METRIC_WORDS[reward_metric]
    revenue = reward_metric == "revenue"
    return {
        "successes": noun.capitalize(),
        "observed_mean": observed,
        "mean": "Posterior mean revenue per impression" if revenue else "Posterior mean rate",
        "expected_loss": "Expected loss per impression" if revenue else "Expected loss (pp)",
    }


def observed_mean(trials: int, successes: float) -> float | None:
    """Successes (or revenue) per impression; None without impressions."""
    return float(successes) / trials if trials else None


def decision_figures(row: Mapping) -> dict:
    """P(best), expected loss and uplift of a snapshot row; keys an old row lacks read as None."""
    return {key: row.get(key) for key in DECISION_KEYS}


def _without_data(figures: dict, trials: int) -> dict:
    """An arm without impressions has no uplift to speak of: its prior is not a measurement."""
    return figures if trials else {**figures, **dict.fromkeys(UPLIFT_KEYS)}


def snapshot_arm_row(
    *,
    arm_key: str,
    arm_id: int,
    variant: str,
    control: bool,
    trials: int,
    successes: int,
    weight: float,
    figures: Mapping,
) -> dict:
    """The row an allocation stores per arm: cumulative counts and the figures that set ``weight``."""
    return {
        **_without_data(decision_figures(figures), trials),
        "arm": arm_key,
        "arm_id": arm_id,
        "variant": variant,
        "control": control,
        "trials": int(trials),
        "successes": int(successes),
        "weight": float(weight),
    }


def report_arm_row(
    *,
    snapshot_row: Mapping,
    arm_key: str,
    variant: str,
    control: bool,
    trials: int,
    successes: int,
    observed: float | None,
    weight: float,
    traffic_share: float | None,
    posterior: Mapping,
) -> dict:
    """The report's row: today's counts and posterior (``posterior``: mean, ci_low, ci_high and the
    clustering figures) beside the decision figures of ``snapshot_row`` and its counts."""
    return {
        **_without_data(decision_figures(snapshot_row), int(snapshot_row.get("trials", trials))),
        "arm": arm_key,
        "variant": variant,
        "control": control,
        "trials": int(trials),
        "successes": int(successes),
        "trials_at_snapshot": int(snapshot_row.get("trials", trials)),
        "successes_at_snapshot": int(snapshot_row.get("successes", successes)),
        "observed_mean": observed,
        **posterior,
        "weight": float(weight),
        "traffic_share": traffic_share,
    }
