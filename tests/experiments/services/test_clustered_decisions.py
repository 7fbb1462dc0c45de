"""Session and user experiments (issue 19, clustered units): the report, the allocation and the
stopping rule read correlated decisions with the cluster-robust variance; request units unchanged."""

import numpy as np
import pytest

from bandits import BetaBernoulli, prob_best
from bandits.clustered import ClusterSums, tempered_posterior
from bandits.mde import tau_from_mde
from bandits.sequential import msprt_two_proportions
from experiments.models import Experiment, Posterior
from experiments.selectors.reports import report_build
from experiments.services.allocations import allocations_recompute

DRAWS = 50_000
MC = 4 * np.sqrt(0.05 * 0.95 / DRAWS)  # four Monte Carlo standard errors of a P(best) near 0.95


def _sessions(seed: int, rate: float, *, units: int = 2_000, icc: float = 0.3):
    """Per-session (decisions, clicks): 10 decisions each, a Beta propensity per session."""
    rng = np.random.default_rng(seed)
    strength = 1.0 / icc - 1.0
    n = np.full(units, 10)
    return n, rng.binomial(n, rng.beta(rate * strength, (1 - rate) * strength, size=units))


def _arms_set(experiment, data: dict) -> dict[str, ClusterSums]:
    """The arms' posterior rows as the update keeps them for a session experiment."""
    sums = {}
    for arm in experiment.arms.all():
        n, y = data[arm.key]
        s = sums[arm.key] = ClusterSums.from_units(np.zeros(len(n)), n, y, n_arms=1)
        Posterior.objects.filter(arm=arm).update(
            trials=int(s.trials[0]),
            clicks=int(s.successes[0]),
            units=int(s.units[0]),
            trials_sq_sum=int(s.trials_sq[0]),
            clicks_sq_sum=int(s.successes_sq[0]),
            clicks_cross_sum=int(s.cross[0]),
        )
    return sums


def _experiment(**fields) -> Experiment:
    experiment = Experiment.objects.get(key="pdp-accessories-test")
    Experiment.objects.filter(pk=experiment.pk).update(burn_in=0, **fields)
    experiment.refresh_from_db()
    return experiment


@pytest.mark.django_db
def test_a_session_experiment_reports_the_effective_sample_size_and_cluster_robust_figures(storefront):
    experiment = _experiment(randomization_unit="session", prob_best_threshold=0.95)
    sums = _arms_set(experiment, {"A": _sessions(1, 0.05), "B": _sessions(2, 0.054)})
    naive = BetaBernoulli.from_counts([sums[k].successes[0] for k in "AB"], [sums[k].trials[0] for k in "AB"])
    naive_pbest = prob_best(naive, draws=DRAWS, seed=0)[1]
    assert naive_pbest > 0.97, "the per-decision posterior would call B best"

    allocations_recompute(experiment_ids=[experiment.id])
    report = report_build(experiment=experiment, draws=DRAWS)
    for row in report["arms"]:
        s = sums[row["arm"]]
        assert row["units"] == 2_000
        assert row["design_effect"] == pytest.approx(s.design_effect()[0])
        assert row["design_effect"] > 2
        assert row["effective_sample_size"] == pytest.approx(row["trials"] / row["design_effect"])
        # The credible interval is as wide as the delta-method normal interval, not the binomial one.
        assert row["ci_high"] - row["ci_low"] == pytest.approx(
            2 * 1.96 * np.sqrt(s.rate_variance()[0]), rel=0.03
        )
    tempered = tempered_posterior(
        [sums[k].successes[0] for k in "AB"],
        [sums[k].trials[0] for k in "AB"],
        [sums[k].design_effect()[0] for k in "AB"],
    )
    b = report["arms"][1]
    assert b["prob_best"] == pytest.approx(prob_best(tempered, draws=DRAWS, seed=1)[1], abs=MC)
    assert b["prob_best"] < 0.95 < naive_pbest
    assert report["stopping"]["reason"] == "continue"
    snapshot = experiment.snapshots.order_by("-allocation_version").first()
    assert snapshot.stopping["reason"] == "continue"
    by_arm = {row["arm"]: row for row in snapshot.arms}
    assert by_arm["B"]["prob_best"] == pytest.approx(b["prob_best"], abs=MC)
    assert by_arm["B"]["effective_sample_size"] == pytest.approx(b["effective_sample_size"])


@pytest.mark.django_db
def test_a_fixed_split_s_always_valid_test_uses_the_cluster_robust_variance(storefront):
    experiment = _experiment(randomization_unit="session", policy="fixed")
    sums = _arms_set(experiment, {"A": _sessions(3, 0.05), "B": _sessions(4, 0.05)})
    report = report_build(experiment=experiment, draws=DRAWS)
    (row,) = report["fixed_split"]["sequential"]
    counts = [x for k in "AB" for x in (sums[k].successes[0], sums[k].trials[0])]
    tau = tau_from_mde(report["fixed_split"]["mde"])
    naive = msprt_two_proportions(*counts, tau=tau)
    deff = [sums[k].design_effect()[0] for k in "AB"]
    clustered = msprt_two_proportions(*counts, tau=tau, design_effect_a=deff[0], design_effect_b=deff[1])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((clustered.ci_low[-1], clustered.ci_high[-1]))
    assert row["p_value"] == pytest.approx(clustered.p_value[-1])
    assert row["ci_high"] - row["ci_low"] > 1.3 * float(naive.ci_high[-1] - naive.ci_low[-1])


@pytest.mark.django_db
def test_a_request_experiment_is_read_per_decision_exactly_as_before(storefront):
    experiment = _experiment(randomization_unit="request")
    for arm, (trials, clicks) in zip(
        experiment.arms.order_by("key"), [(20_000, 1_000), (20_000, 1_090)], strict=True
    ):
        Posterior.objects.filter(arm=arm).update(trials=trials, clicks=clicks)
    report = report_build(experiment=experiment, draws=DRAWS)
    plain = BetaBernoulli.from_counts([1_000, 1_090], [20_000, 20_000])
    low, high = plain.interval(0.95)
    pbest = prob_best(plain, draws=DRAWS, seed=0)
    for i, row in enumerate(report["arms"]):
        assert row["effective_sample_size"] == row["trials"]
        assert row["design_effect"] == 1.0
        assert row["units"] is None
        assert (row["mean"], row["ci_low"], row["ci_high"]) == (plain.mean()[i], low[i], high[i])
        assert row["prob_best"] == pbest[i]
