import time

import numpy as np

from reco_runtime.fit_resources import FitMeter


def test_the_meter_sees_a_short_lived_allocation_as_peak_memory():
    with FitMeter(interval_s=0.005) as meter:
        block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
        block.sum()
        time.sleep(0.05)
        del block
    assert meter.peak_extra_mb > 150
    assert meter.seconds >= 0.05
