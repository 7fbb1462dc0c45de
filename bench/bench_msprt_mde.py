"""mSPRT type-I error and power with tau from the minimum detectable effect vs the old default tau 0.01.

Even split of two arms at 4.0% and 4.0% + difference, 50 equally spaced looks, ``--runs`` runs per
cell (4,000 by default, about 10 s). Run by hand: ``.venv/bin/python -m bench.bench_msprt_mde``.
Results: ``bench/notes/bandits.md``.
"""

import argparse

import numpy as np

from bandits.mde import msprt_rejections, tau_from_mde
from bandits.sequential import DEFAULT_TAU
from bandits.simulation import fixed_horizon_per_arm

RATE = 0.04
MDE = 0.004


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=4_000, help="simulated tests per cell")
    args = parser.parse_args(argv)
    n = fixed_horizon_per_arm(np.array([RATE, RATE + MDE]))
    print("per-arm fixed horizon for the MDE", n)
    print("horizon, tau, type-I, -, power at MDE, median n, power at 3 MDE, median n")
    for horizon in (1, 2):
        for tau in (DEFAULT_TAU, tau_from_mde(MDE)):
            row = [f"{horizon}x", tau]
            for seed, diff in ((1, 0.0), (2, MDE), (3, 3 * MDE)):
                r = msprt_rejections(
                    RATE,
                    diff,
                    tau=tau,
                    per_arm=horizon * n,
                    looks=50,
                    runs=args.runs,
                    rng=np.random.default_rng(seed),
                )
                row += [round(r.rate, 4), float(np.nanmedian(r.samples_to_reject)) if diff else None]
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
