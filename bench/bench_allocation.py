"""Speed of one allocation round: weights for 12 slots x 8 arms from 10,000 posterior draws each.

Run: .venv/bin/python -m bench.bench_allocation [--repeats 30] [--json]
The baseline, timed in the same run, is the bare cost of the draws: one numpy Beta draw of the same
size per slot (rng.beta(alpha, beta, size=(10_000, 8))). The ratio says what allocation adds on top.
Target: one round (all 12 slots) in under 50 ms.
Rows "... clustered" time the round of a session experiment in the same run: each slot's design
effects from its sums over units, the tempered posterior, then the same weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np

from bandits import BetaBernoulli, ClusterSums, allocation_weights, tempered_posterior

N_SLOTS = 12
N_ARMS = 8
DRAWS = 10_000
TARGET_MS = 50.0


def slot_posteriors(seed: int = 0) -> list[BetaBernoulli]:
    """12 slots x 8 arms with e-commerce-like counts: 2k-50k impressions per arm, 1-6% CTR."""
    rng = np.random.default_rng(seed)
    posteriors = []
    for _ in range(N_SLOTS):
        trials = rng.integers(2_000, 50_000, size=N_ARMS)
        rates = rng.uniform(0.01, 0.06, size=N_ARMS)
        posteriors.append(BetaBernoulli.from_counts(rng.binomial(trials, rates), trials))
    return posteriors


def slot_cluster_sums(seed: int = 0) -> list[ClusterSums]:
    """12 slots x 8 arms of sessions with ~10 decisions each and correlated clicks (icc 0.1)."""
    rng = np.random.default_rng(seed)
    slots = []
    for _ in range(N_SLOTS):
        units = rng.integers(200, 5_000, size=N_ARMS)
        arm = np.repeat(np.arange(N_ARMS), units)
        rates = rng.uniform(0.01, 0.06, size=N_ARMS)[arm]
        n = 1 + rng.poisson(9, size=len(arm))
        y = rng.binomial(n, rng.beta(rates * 9, (1 - rates) * 9))
        slots.append(ClusterSums.from_units(arm, n, y, n_arms=N_ARMS))
    return slots


def clustered_round(
    clustered: list[ClusterSums], policy: str, rng: np.random.Generator
) -> Callable[[], None]:
    """A session experiment's round: design effects, tempered posteriors, then the weights."""

    def run() -> None:
        for sums in clustered:
            post = tempered_posterior(sums.successes, sums.trials, sums.design_effect())
            allocation_weights(post, policy, floor=0.05, draws=DRAWS, rng=rng)

    return run


def time_round_ms(run_round: Callable[[], object], repeats: int) -> list[float]:
    run_round()  # warm-up: imports, caches
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_round()
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    posteriors = slot_posteriors()
    rng = np.random.default_rng(1)

    def baseline() -> None:
        for post in posteriors:
            rng.beta(post.alpha, post.beta, size=(DRAWS, N_ARMS))

    def allocation_round(policy: str) -> Callable[[], None]:
        def run() -> None:
            for post in posteriors:
                allocation_weights(post, policy, floor=0.05, draws=DRAWS, rng=rng)

        return run

    baseline_ms = statistics.median(time_round_ms(baseline, args.repeats))
    rows = []
    rounds = [(p, allocation_round(p)) for p in ("thompson", "top_two_thompson")]
    clustered = slot_cluster_sums()
    rounds += [
        (f"{p} clustered", clustered_round(clustered, p, rng)) for p in ("thompson", "top_two_thompson")
    ]
    for policy, run_round in rounds:
        median_ms = statistics.median(time_round_ms(run_round, args.repeats))
        rows.append(
            {
                "policy": policy,
                "round_ms": round(median_ms, 2),
                "baseline_ms": round(baseline_ms, 2),
                "ratio_to_baseline": round(median_ms / baseline_ms, 3),
                "under_target": median_ms < TARGET_MS,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{N_SLOTS} slots x {N_ARMS} arms, {DRAWS:,} draws per slot, median of {args.repeats} rounds")
    print(f"baseline (numpy Beta draws only): {baseline_ms:.1f} ms")
    for row in rows:
        verdict = "under" if row["under_target"] else "OVER"
        print(
            f"{row['policy']:>27}: {row['round_ms']:.1f} ms per round, "
            f"{row['ratio_to_baseline']:.2f}x baseline, {verdict} the {TARGET_MS:.0f} ms target"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
