"""Off-policy estimates on the real Open Bandit Dataset sample (ZOZOTOWN), when it is available.

The data ship inside the obp==0.4.1 wheel and are not committed here (research licence). Fetch with
    pip download --no-deps obp==0.4.1 -d /tmp/obp
or point OBP_WHEEL at the wheel. Without it these tests skip.
"""

import csv
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bandits import ope

WHEEL_NAME = "obp-0.4.1-py3-none-any.whl"
N_ITEMS = 80  # the uniform-random logging policy's propensity is 1 / 80 = 0.0125


def _wheel() -> Path | None:
    candidates = [os.environ.get("OBP_WHEEL", ""), f"/tmp/obp/{WHEEL_NAME}"]
    return next((Path(path) for path in candidates if path and Path(path).is_file()), None)


def _log(wheel: Path, behaviour: str) -> tuple[np.ndarray, np.ndarray]:
    """(click, propensity_score) of obp/dataset/obd/<behaviour>/all/all.csv."""
    with zipfile.ZipFile(wheel) as archive, archive.open(f"obp/dataset/obd/{behaviour}/all/all.csv") as raw:
        rows = [
            (float(r["click"]), float(r["propensity_score"])) for r in csv.DictReader(io.TextIOWrapper(raw))
        ]
    clicks, propensities = np.array(rows).T
    return clicks, propensities


@pytest.fixture(scope="module")
def open_bandit_logs():
    wheel = _wheel()
    if wheel is None:
        pytest.skip("Open Bandit Dataset absent: pip download --no-deps obp==0.4.1 -d /tmp/obp")
    return _log(wheel, "random"), _log(wheel, "bts")


def test_ips_on_the_thompson_log_recovers_the_random_policys_click_rate(open_bandit_logs):
    (random_clicks, random_propensity), (bts_clicks, bts_propensity) = open_bandit_logs
    np.testing.assert_allclose(random_propensity, 1 / N_ITEMS)
    truth = random_clicks.mean()  # on-policy value of uniform random, measured on its own log
    truth_se = random_clicks.std(ddof=1) / np.sqrt(len(random_clicks))
    target = np.full(len(bts_clicks), 1 / N_ITEMS)
    for estimator in (ope.ips, ope.snips):
        interval = ope.bootstrap_ci(estimator, bts_clicks, bts_propensity, target, n_boot=300, seed=0)
        assert abs(interval.estimate - truth) < 3 * np.hypot(interval.se, truth_se)
        assert interval.low < interval.estimate < interval.high


def test_on_policy_propensities_give_back_the_logged_click_rate(open_bandit_logs):
    _, (bts_clicks, bts_propensity) = open_bandit_logs
    assert ope.ips(bts_clicks, bts_propensity, bts_propensity) == pytest.approx(bts_clicks.mean())
