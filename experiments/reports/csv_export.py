"""CSV exports of the reports: one row per arm (or per metric), the JSON's flat fields as columns."""

import csv
import io
from datetime import datetime

from experiments.domain.arm_summary import CSV_ARM_COLUMNS

# The arm summary row's columns in its order, so the CSV says what the page and the JSON say.
ARM_COLUMNS = CSV_ARM_COLUMNS
OFF_POLICY_COLUMNS = ("naive", "ips", "snips", "snips_ci_low", "snips_ci_high")


def experiment_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        (
            "experiment",
            "slot",
            "status",
            "reward_metric",
            "allocation_version",
            "figures_as_of_allocation_version",
            *ARM_COLUMNS,
            *OFF_POLICY_COLUMNS,
        )
    )
    off_policy = {row["arm"]: row for row in report.get("off_policy", {}).get("arms", [])}
    head = [report[k] for k in ("experiment", "slot", "status", "reward_metric", "allocation_version")]
    head.append(report.get("figures_as_of", {}).get("allocation_version"))
    for arm in report["arms"]:
        ope_row = off_policy.get(arm["arm"], {})
        writer.writerow(
            _cells(head + [arm.get(c) for c in ARM_COLUMNS] + [ope_row.get(c) for c in OFF_POLICY_COLUMNS])
        )
    return out.getvalue()


PROGRAM_METRIC_COLUMNS = (
    "holdout",
    "program",
    "uplift",
    "ci_low",
    "ci_high",
    "label",
    "unit",
    "measurable",
    "holdout_outcomes",
)


def program_csv(report: dict) -> str:
    """One row per metric, each carrying when the figures were computed, the logged time they
    read, the holdout's share and size, and the slots' baselines (``slot=variant; ...``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        (
            "metric",
            *PROGRAM_METRIC_COLUMNS,
            "computed_at",
            "data_from",
            "data_to",
            "holdout_share",
            "holdout_sessions",
            "program_sessions",
            "currency",
            "baselines",
        )
    )
    baselines = "; ".join(f"{b['slot']}={b['variant'] or ''}" for b in report["baselines"])
    tail = [
        _iso(report["computed_at"]),
        _iso(report["data_from"]),
        _iso(report["data_to"]),
        report["holdout_share"],
        report["sessions"]["holdout"],
        report["sessions"]["program"],
        report["currency"],
        baselines,
    ]
    for name, metric in report["metrics"].items():
        writer.writerow(_cells([name, *(metric.get(c) for c in PROGRAM_METRIC_COLUMNS), *tail]))
    return out.getvalue()


EXPERIMENT_LIST_COLUMNS = (
    "key",
    "slot",
    "status",
    "policy",
    "reward_metric",
    "allocation_version",
    "started_at",
    "winner",
    "concluded_at",
    "leader",
    "leader_arm",
    "prob_best",
    "uplift",
    "uplift_ci_low",
    "uplift_ci_high",
    "traffic_share",
    "decisions",
    "state",
    "stopping_state",
    "srm_mismatch",
    "guardrail_breaches",
    "as_of",
)


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def _cell(value):
    """A CSV cell without float artefacts: 6 significant digits (0.2666666666045785 -> 0.266667,
    a weight's exact hash-space share included), times in ISO 8601, None empty."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _cells(values) -> list:
    return [_cell(v) for v in values]


def experiment_list_csv(rows: list[dict]) -> str:
    """The experiment list's rows with the JSON's fields; a row's guardrail breaches joined by "; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPERIMENT_LIST_COLUMNS)
    for row in rows:
        cells = {**row, "guardrail_breaches": "; ".join(row["guardrail_breaches"])}
        writer.writerow(_cells(cells[c] for c in EXPERIMENT_LIST_COLUMNS))
    return out.getvalue()
