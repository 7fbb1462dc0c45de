"""A/A tests with correlated sessions: how often equal arms are called different, per decision vs per unit.

Run: .venv/bin/python -m bench.bench_clustered_aa [--runs 4000] [--seed 19] [--json]
For each world (intra-session correlation icc of clicks, mean decisions per session), the same
simulated sessions are read two ways (bandits/clustered_aa.py): per decision (a Beta-Bernoulli
posterior and the binomial mSPRT variance, what session experiments used before) and per unit (the
tempered posterior and the cluster-robust mSPRT). Figures are rates over runs +- one Monte Carlo
standard error. Nominal: P(best) >= 0.95 at the end of the test, either arm, 0.10; the mSPRT
(alpha 0.05, 20 looks) at most 0.05. The world with icc ~ 0 (independent decisions) shows what the
mSPRT gives when its assumptions hold.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import numpy as np

from bandits.clustered_aa import ClusteredAASettings, clustered_aa

WORLDS = (  # (icc, mean decisions per session)
    (1e-6, 10.0),
    (0.02, 10.0),
    (0.1, 10.0),
    (0.3, 10.0),
    (0.1, 3.0),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=4_000)
    parser.add_argument("--units", type=int, default=1_000, help="sessions per arm")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for k, (icc, decisions) in enumerate(WORLDS):
        settings = ClusteredAASettings(
            runs=args.runs, units_per_arm=args.units, icc=icc, mean_decisions=decisions
        )
        start = time.perf_counter()
        result = clustered_aa(settings, np.random.default_rng([args.seed, k]))
        rows.append(
            {
                "icc": icc,
                "mean_decisions": decisions,
                "mean_design_effect": round(result.mean_design_effect, 3),
                **{
                    name: asdict(getattr(result, name))
                    for name in ("declare_naive", "declare_clustered", "msprt_naive", "msprt_clustered")
                },
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"{args.runs:,} A/A runs per world, {args.units:,} sessions per arm, rate 0.05, 20 looks; "
        "rate +- Monte Carlo s.e."
    )
    print("nominal: P(best)>=0.95 at the end 0.100; mSPRT (alpha 0.05, any look) <= 0.050")
    print(
        f"{'icc':>6} {'dec/s':>5} {'deff':>5} | {'P(best) naive':>15} {'clustered':>15} | "
        f"{'mSPRT naive':>15} {'clustered':>15}"
    )

    def fmt(rate: dict) -> str:
        return f"{rate['rate']:.3f} +- {rate['se']:.3f}"

    for row in rows:
        print(
            f"{row['icc']:>6.2g} {row['mean_decisions']:>5.0f} {row['mean_design_effect']:>5.2f} | "
            f"{fmt(row['declare_naive']):>15} {fmt(row['declare_clustered']):>15} | "
            f"{fmt(row['msprt_naive']):>15} {fmt(row['msprt_clustered']):>15}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
