"""The epoch section's uplift intervals stop at -100%: no click rate can fall further."""

from types import SimpleNamespace

import numpy as np

from experiments.selectors.report_sections import _epoch_rows


def test_an_interval_that_reaches_below_minus_100_percent_is_shown_from_minus_100_percent():
    arms = [SimpleNamespace(key="A"), SimpleNamespace(key="B")]
    est = SimpleNamespace(
        stratified_rate=np.array([0.03, 0.05]),
        pooled_rate=np.array([0.04, 0.03]),
        stratified_uplift=np.array([0.0, 0.6]),
        stratified_uplift_ci=(np.array([0.0, -1.55]), np.array([0.0, 2.8])),
        pooled_uplift=np.array([0.0, -0.28]),
        pooled_uplift_ci=(np.array([0.0, -1.34]), np.array([0.0, 0.79])),
    )
    (control, arm_b) = _epoch_rows(arms, 0, est, [0, 1])
    assert control["stratified_uplift"] is None
    assert arm_b["stratified_uplift_ci_low"] == -1.0
    assert arm_b["pooled_uplift_ci_low"] == -1.0
    assert arm_b["stratified_uplift_ci_high"] == 2.8
