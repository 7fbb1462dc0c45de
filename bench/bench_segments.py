"""Per-segment Thompson sampling against plain Thompson sampling, and the off-policy value check.

Run from the repository root: .venv/bin/python -m bench.bench_segments [--runs 200] [--seed 7]
Three worlds of 3 arms (0 als, 1 session_aware, 2 popularity) in 4 segments (history new 28% /
returning 72% x device mobile 60% / desktop 40%), `--impressions` per run in batches of 1,000:
  (a) segments matter: session_aware is best for new shoppers, als for returning ones;
  (b) segments do not matter: the same rates everywhere;
  (c) the base rate differs by device (mobile 0.8x, desktop 1.15x) but the best arm does not.
segment_thompson pools toward the arm's rate (the default); the last row pools toward the arm's
rate x a segment multiplier (PoolingSettings(centre="arm_x_segment")).
Regret in expected lost clicks against the per-segment best arm, mean +- Monte Carlo s.e. over runs.
Then one logged run of per-segment TS in world (a): per-segment winners, and the SNIPS and DR values
of the per-segment leaders against the best single arm, beside the true values.
Machinery: bandits/segments.py, segment_simulation.py, segment_winners.py, segment_ope.py.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from bandits.segment_ope import leader_policy, segment_policy_value
from bandits.segment_simulation import (
    SegmentSimulationSettings,
    SegmentWorld,
    regret_ratio,
    segment_log,
    simulate_segments,
)
from bandits.segment_winners import segment_winners
from bandits.segments import PoolingSettings, segment_posterior

ARMS = ("als", "session_aware", "popularity")
LABELS = ("new|mobile", "new|desktop", "returning|mobile", "returning|desktop")
SHARES = np.array([0.28 * 0.6, 0.28 * 0.4, 0.72 * 0.6, 0.72 * 0.4])
DEVICE = np.array([0.8, 1.15, 0.8, 1.15])[:, None]
NEW = np.array([0.030, 0.045, 0.035])
RETURNING = np.array([0.060, 0.048, 0.040])
FLAT = np.array([0.050, 0.055, 0.045])
WORLDS = {
    "a: best arm differs by segment": np.vstack([NEW * 0.8, NEW * 1.15, RETURNING * 0.8, RETURNING * 1.15]),
    "b: segments do not matter": np.tile(FLAT, (4, 1)),
    "c: base rate differs by device, best arm does not": np.tile(FLAT, (4, 1)) * DEVICE,
}


def pct(value: float) -> str:
    return f"{value:.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--impressions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n-boot", type=int, default=500)
    args = parser.parse_args(argv)
    for index, (name, rates) in enumerate(WORLDS.items()):
        settings = SegmentSimulationSettings(
            world=SegmentWorld(rates=rates, shares=SHARES, labels=LABELS),
            impressions=args.impressions,
            runs=args.runs,
        )
        start = time.process_time()
        outcomes = {o.policy: o for o in simulate_segments(settings, seed=args.seed + index)}
        interaction = replace(settings, pooling=PoolingSettings(centre="arm_x_segment"))
        (other,) = simulate_segments(interaction, ("segment_thompson",), seed=args.seed + index)
        outcomes["segment_thompson, centre arm_x_segment"] = other
        print(f"\n### World {name}\n")
        print(
            "rates (als / session_aware / popularity):",
            "; ".join(
                f"{lab} {' / '.join(f'{r:.2%}' for r in row)}" for lab, row in zip(LABELS, rates, strict=True)
            ),
        )
        cpu = time.process_time() - start
        print(f"{args.runs:,} runs x {args.impressions:,} impressions, CPU {cpu:.0f} s\n")
        print("| policy | total regret (clicks) | vs plain TS |")
        print("|---|---|---|")
        for policy, outcome in outcomes.items():
            ratio, se = regret_ratio(outcome, outcomes["thompson"])
            print(f"| {policy} | {outcome.mean:,.1f} ± {outcome.se:,.1f} | {ratio:.3f} ± {se:.3f} |")
    off_policy_check(args)
    return 0


def off_policy_check(args: argparse.Namespace) -> None:
    world = SegmentWorld(rates=next(iter(WORLDS.values())), shares=SHARES, labels=LABELS)
    settings = SegmentSimulationSettings(world=world, impressions=args.impressions, runs=1)
    log = segment_log(settings, "segment_thompson", np.random.default_rng(args.seed))
    counts = log.counts()
    winners = segment_winners(segment_posterior(type(counts)(counts.successes, counts.trials, LABELS)))
    print(f"\n### One logged run of segment_thompson in world a ({len(log.reward):,} decisions)\n")
    print(winners.summary(ARMS), "\n")
    policy = leader_policy(winners.leader, len(ARMS))
    single = int(np.argmax(winners.overall_prob_best))
    result = segment_policy_value(log, policy, single, n_boot=args.n_boot, seed=args.seed)
    single_policy = np.eye(len(ARMS))[np.full(len(LABELS), single)]
    truth = (world.value(policy), world.value(single_policy))
    print(f"per-segment leaders {[ARMS[k] for k in winners.leader]}; best single arm {ARMS[single]}")
    print(
        f"effective sample size: per-segment {result.effective_sample_size[0]:,.0f}, "
        f"single {result.effective_sample_size[1]:,.0f}\n"
    )
    print(
        print(
            "| estimator | per-segment policy | best single arm "
            "| difference (points) | true difference (points) |"
        )
    )
    print("|---|---|---|---|---|")
    for name, comparison in (("SNIPS", result.snips), ("DR", result.dr)):
        cells = [
            f"{pct(i.estimate)} ({pct(i.low)} … {pct(i.high)})"
            for i in (comparison.segment_policy, comparison.single_arm, comparison.difference)
        ]
        print(f"| {name} | {' | '.join(cells)} | {pct(truth[0] - truth[1])} |")
    print(f"\ntrue values: per-segment {pct(truth[0])}, single arm {pct(truth[1])}")


if __name__ == "__main__":
    raise SystemExit(main())
