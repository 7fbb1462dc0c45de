"""Command line for the policy simulator (see bandits.simulation for the exact policies and rules).

    python -m bandits.simulate --rates 0.040,0.044,0.048,0.050 --runs 200 --seed 1 --json
    python -m bandits.simulate --rates 0.040 0.044 0.048 0.050 ...        (the same, space separated)
prints a JSON list, one object per policy: {"policy", "samples_to_decision", "correct_rate",
"regret", "samples_p90", "regret_total"} (means over runs; regret in expected lost successes against
always playing the best arm; regret_total adds --after impressions served the chosen arm, default the
fixed_ab horizon). After the simulated policies come the even splits matched to each adaptive
policy's correct rate ("even_split_matched_<policy>", sized by bandits.simulation.matched_fixed_split).
Without --json it shows a progress bar and a table; --plot FILE.html writes a self-contained plotly
page (samples-to-decision per policy, mean cumulative regret, and samples vs correct rate with the
matched even split's curve).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from bandits.errors import BanditError
from bandits.simulation import (
    ADAPTIVE_POLICIES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_POLICIES,
    DEFAULT_SIMULATION_DRAWS,
    POLICY_NAMES,
    PolicyOutcome,
    SimulationSettings,
    fixed_correct_rate,
    matched_summary,
    simulate,
)

Summary = dict[str, float | str]


def rates_from_words(words: Sequence[str]) -> np.ndarray:
    """`--rates` words as an array: "0.04,0.044", "0.04 0.044" and "0.04, 0.044" all mean the same."""
    parts = [part for word in words for part in word.replace(",", " ").split()]
    try:
        return np.array([float(part) for part in parts])
    except ValueError as exc:
        raise BanditError(f"--rates must be numbers separated by commas or spaces, got {words!r}") from exc


def _policies(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = set(names) - set(POLICY_NAMES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown policies {sorted(unknown)}; choose from {POLICY_NAMES}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bandits.simulate", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rates", nargs="+", required=True, help="true arm rates: 0.04,0.05 or 0.04 0.05")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the JSON summary only")
    parser.add_argument("--plot", metavar="FILE.html", help="write a plotly page (works offline)")
    parser.add_argument(
        "--policies", type=_policies, default=DEFAULT_POLICIES, help=f"comma-separated, of {POLICY_NAMES}"
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="impressions per batch")
    parser.add_argument("--draws", type=int, default=DEFAULT_SIMULATION_DRAWS, help="posterior draws")
    parser.add_argument("--threshold", type=float, default=0.95, help="P(best) needed to stop")
    parser.add_argument("--epsilon", type=float, default=0.001, help="expected loss allowed to stop")
    parser.add_argument("--floor", type=float, default=0.0, help="total exploration share")
    parser.add_argument("--burn-in", type=int, default=0, help="trials per arm before adapting")
    parser.add_argument("--max-samples", type=int, default=None, help="cap (default: fixed_ab horizon)")
    parser.add_argument("--delta", type=float, default=0.05, help="error rate of top_two_thompson_glr")
    parser.add_argument(
        "--after", type=int, default=None, help="impressions after the decision (default: fixed_ab horizon)"
    )
    return parser


def summaries(outcomes: Sequence[PolicyOutcome], settings: SimulationSettings) -> list[Summary]:
    """The JSON list: each simulated policy, then the even split matched to each adaptive one."""
    rows = [outcome.summary() for outcome in outcomes]
    for outcome in outcomes:
        if outcome.policy in ADAPTIVE_POLICIES:
            matched = matched_summary(settings, outcome)
            if matched is not None:
                rows.append(matched)
    return rows


def format_table(rows: Sequence[Summary]) -> str:
    """Plain-text table of `summaries`; x fewer samples against fixed_ab and against the matched split."""
    by_policy = {str(row["policy"]): row for row in rows}
    fixed = by_policy.get("fixed_ab")
    header = (
        f"{'policy':<40}{'samples':>12}{'p90':>12}{'correct':>9}{'regret':>11}{'regret_total':>14}"
        f"{'x vs fixed_ab':>15}{'x vs matched':>14}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        samples = float(row["samples_to_decision"])
        versus_fixed = (
            f"{float(fixed['samples_to_decision']) / samples:.2f}" if fixed and row is not fixed else ""
        )
        matched = by_policy.get(f"even_split_matched_{row['policy']}")
        versus_matched = f"{float(matched['samples_to_decision']) / samples:.2f}" if matched else ""
        lines.append(
            f"{row['policy']!s:<40}{samples:>12,.0f}{float(row['samples_p90']):>12,.0f}"
            f"{float(row['correct_rate']):>9.3f}{float(row['regret']):>11,.1f}"
            f"{float(row['regret_total']):>14,.1f}{versus_fixed:>15}{versus_matched:>14}"
        )
    return "\n".join(lines)


def write_plot(
    outcomes: Sequence[PolicyOutcome], settings: SimulationSettings, path: str, title: str
) -> None:
    """Samples-to-decision box plot, mean cumulative regret, and mean samples vs correct rate beside the
    even split's curve (every point on it is a matched split), plotly.js inlined."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("Samples to decision (per run)", "Mean cumulative regret", "Samples vs correct rate"),
    )
    for outcome in outcomes:
        figure.add_trace(
            go.Box(x=outcome.samples_to_decision, name=outcome.policy, boxpoints="outliers"), row=1, col=1
        )
        figure.add_trace(
            go.Scatter(x=outcome.curve_samples, y=outcome.curve_regret, mode="lines", name=outcome.policy),
            row=1,
            col=2,
        )
        figure.add_trace(
            go.Scatter(
                x=[float(np.mean(outcome.samples_to_decision))],
                y=[float(np.mean(outcome.correct))],
                mode="markers+text",
                text=[outcome.policy],
                textposition="top center",
                name=outcome.policy,
            ),
            row=1,
            col=3,
        )
    per_arm = np.geomspace(
        settings.fixed_total / settings.n_arms / 100, settings.fixed_total / settings.n_arms, 60
    )
    figure.add_trace(
        go.Scatter(
            x=per_arm * settings.n_arms,
            y=[fixed_correct_rate(settings.rates, n) for n in per_arm],
            mode="lines",
            name="even split (any size)",
        ),
        row=1,
        col=3,
    )
    figure.update_xaxes(title_text="impressions", row=1, col=1)
    figure.update_xaxes(title_text="impressions", row=1, col=2)
    figure.update_xaxes(title_text="impressions (mean)", type="log", row=1, col=3)
    figure.update_yaxes(title_text="lost successes", row=1, col=2)
    figure.update_yaxes(title_text="correct rate", row=1, col=3)
    figure.update_layout(title=title, showlegend=False)
    figure.write_html(path, include_plotlyjs=True, full_html=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = SimulationSettings(
            rates=rates_from_words(args.rates),
            runs=args.runs,
            batch_size=args.batch_size,
            threshold=args.threshold,
            epsilon=args.epsilon,
            floor=args.floor,
            burn_in=args.burn_in,
            draws=args.draws,
            max_samples=args.max_samples,
            delta=args.delta,
            after=args.after,
        )
    except BanditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress_bar = None
    if not args.json:
        from tqdm import tqdm

        progress_bar = tqdm(total=settings.runs * len(args.policies), unit="run", desc="simulating")
    outcomes = simulate(
        settings,
        args.policies,
        seed=args.seed,
        progress=None if progress_bar is None else lambda _policy, done: progress_bar.update(done),
    )
    if progress_bar is not None:
        progress_bar.close()
    rows = summaries(outcomes, settings)
    if args.plot:
        rates = ", ".join(f"{rate:.2%}" for rate in settings.rates)
        write_plot(outcomes, settings, args.plot, f"{settings.runs} runs, rates {rates}")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"rates {settings.rates.tolist()}, {settings.runs} runs, batch {settings.batch_size} impressions, "
        f"fixed_ab horizon {settings.fixed_total:,} impressions"
    )
    print(format_table(rows))
    print(f"regret_total counts {settings.after_impressions:,} impressions after the decision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
