"""mSPRT type-I error and power with tau from the minimum detectable effect vs the old default tau 0.01.

Even split of two arms at 4.0% and 4.0% + difference, 50 equally spaced looks, 4,000 runs per cell.
Run by hand: .venv/bin/python bench/bench_msprt_mde.py (about 10 s). Results: bench/README_bandits.md.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bandits.mde import msprt_rejections, tau_from_mde
from bandits.sequential import DEFAULT_TAU
from bandits.simulation import fixed_horizon_per_arm

rate, mde, runs = 0.04, 0.004, 4000
n = fixed_horizon_per_arm(np.array([rate, rate + mde]))
print("per-arm fixed horizon for the MDE", n)
for horizon in (1, 2):
    for tau in (DEFAULT_TAU, tau_from_mde(mde)):
        row = [f"{horizon}x", tau]
        for seed, diff in ((1, 0.0), (2, mde), (3, 3 * mde)):
            r = msprt_rejections(
                rate, diff, tau=tau, per_arm=horizon * n, looks=50, runs=runs, rng=np.random.default_rng(seed)
            )
            row += [round(r.rate, 4), float(np.nanmedian(r.samples_to_reject)) if diff else None]
        print(row)  # horizon, tau, type-I, -, power at MDE, median n, power at 3 MDE, median n
