"""Command line for the policy simulator (see bandits.simulation for the exact policies and rules).

    python -m bandits.simulate --rates 0.040,0.044,0.048,0.050 --runs 200 --seed 1 --json
prints a JSON list, one object per policy: {"policy", "samples_to_decision", "correct_rate",
"regret"} (means over runs; regret in expected lost successes against always playing the best arm).
Without --json it shows a progress bar and a table; --plot FILE.html writes a self-contained plotly
page (samples-to-decision per policy and mean cumulative regret).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from bandits.errors import BanditError
from bandits.simulation import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SIMULATION_DRAWS,
    POLICY_NAMES,
    PolicyOutcome,
    SimulationSettings,
    matched_fixed_split,
    simulate,
)


def _rates(text: str) -> np.ndarray:
    try:
        return np.array([float(part) for part in text.split(",") if part.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--rates must be comma-separated numbers, got {text!r}") from exc


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
    parser.add_argument("--rates", type=_rates, required=True, help="true arm rates, e.g. 0.04,0.05")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the JSON summary only")
    parser.add_argument("--plot", metavar="FILE.html", help="write a plotly page (works offline)")
    parser.add_argument("--policies", type=_policies, default=POLICY_NAMES, help="comma-separated")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="impressions per batch")
    parser.add_argument("--draws", type=int, default=DEFAULT_SIMULATION_DRAWS, help="posterior draws")
    parser.add_argument("--threshold", type=float, default=0.95, help="P(best) needed to stop")
    parser.add_argument("--epsilon", type=float, default=0.001, help="expected loss allowed to stop")
    parser.add_argument("--floor", type=float, default=0.0, help="total exploration share")
    parser.add_argument("--burn-in", type=int, default=0, help="trials per arm before adapting")
    parser.add_argument("--max-samples", type=int, default=None, help="cap (default: fixed_ab horizon)")
    return parser


def format_table(outcomes: Sequence[PolicyOutcome]) -> str:
    """Plain-text table; ratios are against fixed_ab when it was simulated."""
    baseline = next((o for o in outcomes if o.policy == "fixed_ab"), None)
    header = (
        f"{'policy':<18}{'samples_to_decision':>21}{'median':>10}{'correct_rate':>14}"
        f"{'regret':>10}{'capped':>8}{'x fewer samples':>17}{'regret ratio':>14}"
    )
    lines = [header, "-" * len(header)]
    for outcome in outcomes:
        summary = outcome.summary()
        fewer = ratio = ""
        if baseline is not None and outcome is not baseline:
            fewer = f"{np.mean(baseline.samples_to_decision) / summary['samples_to_decision']:.2f}"
            ratio = f"{summary['regret'] / np.mean(baseline.regret):.3f}"
        lines.append(
            f"{outcome.policy:<18}{summary['samples_to_decision']:>21,.0f}"
            f"{np.median(outcome.samples_to_decision):>10,.0f}{summary['correct_rate']:>14.3f}"
            f"{summary['regret']:>10,.1f}{np.mean(outcome.capped):>8.3f}{fewer:>17}{ratio:>14}"
        )
    return "\n".join(lines)


def format_matched(outcomes: Sequence[PolicyOutcome], rates: np.ndarray) -> str:
    """Each adaptive policy against the even split that is right exactly as often (matched correct rate)."""
    lines = ["adaptive policy vs an even split with the same correct rate (normal-approximation sizing):"]
    for outcome in outcomes:
        if outcome.policy == "fixed_ab":
            continue
        summary = outcome.summary()
        correct = float(summary["correct_rate"])
        if not 1.0 / len(rates) < correct < 1.0:
            lines.append(f"  {outcome.policy}: correct rate {correct:.3f} cannot be matched")
            continue
        samples, regret = matched_fixed_split(rates, correct)
        lines.append(
            f"  {outcome.policy}: correct {correct:.3f}; matched split {samples:,.0f} samples, regret "
            f"{regret:,.1f}; samples fixed/adaptive {samples / float(summary['samples_to_decision']):.2f}, "
            f"regret adaptive/fixed {float(summary['regret']) / regret:.3f}"
        )
    return "\n".join(lines)


def write_plot(outcomes: Sequence[PolicyOutcome], path: str, title: str) -> None:
    """Box plot of samples-to-decision and mean cumulative regret per policy, plotly.js inlined."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("Samples to decision (per run)", "Mean cumulative regret")
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
    figure.update_xaxes(title_text="impressions", row=1, col=1)
    figure.update_xaxes(title_text="impressions", row=1, col=2)
    figure.update_yaxes(title_text="lost successes", row=1, col=2)
    figure.update_layout(title=title, showlegend=False)
    figure.write_html(path, include_plotlyjs=True, full_html=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = SimulationSettings(
            rates=args.rates,
            runs=args.runs,
            batch_size=args.batch_size,
            threshold=args.threshold,
            epsilon=args.epsilon,
            floor=args.floor,
            burn_in=args.burn_in,
            draws=args.draws,
            max_samples=args.max_samples,
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
    if args.plot:
        rates = ", ".join(f"{rate:.2%}" for rate in settings.rates)
        write_plot(outcomes, args.plot, f"{settings.runs} runs, rates {rates}")
    if args.json:
        print(json.dumps([outcome.summary() for outcome in outcomes], indent=2))
        return 0
    print(
        f"rates {settings.rates.tolist()}, {settings.runs} runs, batch {settings.batch_size} impressions, "
        f"fixed_ab horizon {settings.fixed_total:,} impressions"
    )
    print(format_table(outcomes))
    print(format_matched(outcomes, settings.rates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
