"""CSV exports of the reports: one row per arm (or per metric), the JSON's flat fields as columns."""

import csv
import io

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
            head + [arm.get(c) for c in ARM_COLUMNS] + [ope_row.get(c) for c in OFF_POLICY_COLUMNS]
        )
    return out.getvalue()


def program_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("metric", "holdout", "program", "uplift", "ci_low", "ci_high"))
    for name, metric in report["metrics"].items():
        writer.writerow(
            (
                name,
                metric["holdout"],
                metric["program"],
                metric["uplift"],
                metric["ci_low"],
                metric["ci_high"],
            )
        )
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


def experiment_list_csv(rows: list[dict]) -> str:
    """The experiment list's rows with the JSON's fields; a row's guardrail breaches joined by "; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPERIMENT_LIST_COLUMNS)
    for row in rows:
        cells = {**row, "guardrail_breaches": "; ".join(row["guardrail_breaches"])}
        writer.writerow([cells[c] for c in EXPERIMENT_LIST_COLUMNS])
    return out.getvalue()
