import numpy as np
import pytest

from bandits import BanditError
from bandits.mde import msprt_rejections, tau_from_mde
from bandits.sequential import DEFAULT_TAU, msprt_two_proportions
from bandits.simulation import fixed_horizon_per_arm

RUNS = 2_000


def test_tau_from_the_mde_maximises_the_likelihood_ratio_at_that_effect_once_variance_is_small():
    mde, variance = 0.004, 1e-9  # V far below MDE^2, as at a decision
    taus = np.linspace(0.001, 0.02, 400)
    log_lambda = 0.5 * np.log(variance / (variance + taus**2)) + taus**2 * mde**2 / (
        2 * variance * (variance + taus**2)
    )
    assert taus[np.argmax(log_lambda)] == pytest.approx(tau_from_mde(mde), abs=taus[1] - taus[0])
    with pytest.raises(BanditError):
        tau_from_mde(0.0)


def test_the_simulation_reads_the_same_rejections_as_the_msprt_itself():
    result = msprt_rejections(0.3, 0.1, tau=0.05, per_arm=400, looks=4, runs=3, rng=np.random.default_rng(0))
    assert result.rejected.shape == (3,)
    rng = np.random.default_rng(0)
    steps = np.full(4, 100)
    a = np.cumsum(rng.binomial(steps, 0.3, size=(3, 4)), axis=1)
    b = np.cumsum(rng.binomial(steps, 0.4, size=(3, 4)), axis=1)
    n = np.broadcast_to(np.cumsum(steps), (3, 4))
    np.testing.assert_array_equal(result.rejected, msprt_two_proportions(a, n, b, n, tau=0.05).reject[:, -1])


def test_tau_from_the_mde_keeps_type_one_error_and_gains_power_at_the_mde_over_the_default():
    rate, mde = 0.04, 0.004
    per_arm = 2 * fixed_horizon_per_arm(np.array([rate, rate + mde]))
    common = {"per_arm": per_arm, "looks": 50, "runs": RUNS}
    monte_carlo = 3 * np.sqrt(0.05 * 0.95 / RUNS)
    power = {}
    for tau in (DEFAULT_TAU, tau_from_mde(mde)):
        null = msprt_rejections(rate, 0.0, tau=tau, rng=np.random.default_rng(1), **common)
        assert null.rate <= 0.05 + monte_carlo
        # the same random numbers for both taus, so the power difference is not Monte Carlo noise
        power[tau] = msprt_rejections(rate, mde, tau=tau, rng=np.random.default_rng(2), **common)
    assert power[tau_from_mde(mde)].rate > power[DEFAULT_TAU].rate + 0.02
