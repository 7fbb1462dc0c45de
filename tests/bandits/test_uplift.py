import numpy as np
import pytest
from scipy import integrate, stats

from bandits import BanditError, BetaBernoulli
from bandits.uplift import uplift_vs_control


def test_uplift_matches_exact_ratio_distribution_for_two_beta_arms():
    post = BetaBernoulli.from_counts([200, 240], [5_000, 5_000])
    summary = uplift_vs_control(post, control=0, draws=400_000, seed=0)
    a = stats.beta(post.alpha[0], post.beta[0])
    b = stats.beta(post.alpha[1], post.beta[1])
    # E[theta_b / theta_a] = E[theta_b] E[1 / theta_a]; E[1/theta_a] = (alpha + beta - 1) / (alpha - 1).
    exact_mean = b.mean() * (post.alpha[0] + post.beta[0] - 1) / (post.alpha[0] - 1) - 1
    assert summary.mean[1] == pytest.approx(exact_mean, abs=5e-4)
    # P(theta_b > theta_a) = integral f_b(x) F_a(x) dx
    exact_prob, _ = integrate.quad(lambda x: b.pdf(x) * a.cdf(x), 0, 0.2, points=[0.04, 0.048])
    assert summary.prob_beats_control[1] == pytest.approx(exact_prob, abs=3 * np.sqrt(0.25 / 400_000))
    # P(uplift < ci_low) = 2.5%: P(theta_b < (1 + low) theta_a) = integral f_a(x) F_b((1 + low) x) dx
    below, _ = integrate.quad(lambda x: a.pdf(x) * b.cdf((1 + summary.ci_low[1]) * x), 0, 0.2, points=[0.04])
    assert below == pytest.approx(0.025, abs=0.002)


def test_control_row_is_zero_and_rows_are_json_ready():
    post = BetaBernoulli.from_counts([20, 30, 25], [1_000, 1_000, 1_000])
    summary = uplift_vs_control(post, control=1, draws=20_000, seed=1)
    assert summary.mean[1] == 0.0
    assert summary.prob_beats_control[1] == 0.0
    rows = summary.rows()
    assert rows[1] == {
        "control": True,
        "uplift": None,
        "uplift_ci_low": None,
        "uplift_ci_high": None,
        "prob_beats_control": None,
    }
    assert rows[0]["uplift"] < 0 < rows[0]["uplift_ci_high"]


def test_it_rejects_an_unknown_control():
    with pytest.raises(BanditError):
        uplift_vs_control(BetaBernoulli.from_counts([1, 2], [10, 10]), control=2)
