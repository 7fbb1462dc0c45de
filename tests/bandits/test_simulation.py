import json

import numpy as np
import pytest
from scipy import stats

from bandits import BanditError
from bandits.simulate import main
from bandits.simulation import (
    SimulationSettings,
    fixed_correct_rate,
    fixed_horizon_per_arm,
    fixed_pick_probabilities,
    matched_fixed_split,
    matched_summary,
    simulate,
)

PINNED = {"policy", "samples_to_decision", "correct_rate", "regret"}
SUMMARY_FIELDS = PINNED | {"samples_p90", "regret_total"}


def test_fixed_horizon_is_the_two_proportion_power_formula_with_bonferroni():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    expected = np.ceil(z**2 * (0.05 * 0.95 + 0.04 * 0.96) / 0.01**2)
    assert fixed_horizon_per_arm(np.array([0.04, 0.05])) == expected
    z3 = stats.norm.isf(0.05 / 2 / 2) + stats.norm.ppf(0.8)  # 3 arms: 2 comparisons of the best
    expected3 = np.ceil(z3**2 * (0.05 * 0.95 + 0.045 * 0.955) / 0.005**2)
    assert fixed_horizon_per_arm(np.array([0.03, 0.045, 0.05])) == expected3


def test_fixed_correct_rate_matches_simulated_binomial_experiments():
    rates = np.array([0.040, 0.044, 0.048, 0.050])
    rng = np.random.default_rng(0)
    picked_best = rng.binomial(60_000, rates, size=(20_000, 4)).argmax(axis=1) == 3
    exact = fixed_correct_rate(rates, 60_000)
    assert picked_best.mean() == pytest.approx(exact, abs=3 * np.sqrt(exact * (1 - exact) / 20_000))


def test_matched_fixed_split_inverts_the_correct_rate():
    rates = np.array([0.03, 0.033, 0.036])
    samples, regret = matched_fixed_split(rates, fixed_correct_rate(rates, 50_000))
    assert samples == pytest.approx(3 * 50_000, rel=1e-3)
    assert regret == pytest.approx(50_000 * (0.006 + 0.003), rel=1e-3)
    with pytest.raises(BanditError):
        matched_fixed_split(rates, 1.0)


@pytest.fixture(scope="module")
def two_arm_outcomes():
    settings = SimulationSettings(rates=np.array([0.02, 0.05]), runs=40, batch_size=200)
    return settings, {outcome.policy: outcome for outcome in simulate(settings, seed=3)}


def test_every_policy_reports_the_pinned_fields_and_p90_and_total_regret(two_arm_outcomes):
    _, outcomes = two_arm_outcomes
    assert list(outcomes) == ["fixed_ab", "thompson", "top_two_thompson", "even_split_same_rule"]
    for outcome in outcomes.values():
        summary = outcome.summary()
        assert set(summary) == SUMMARY_FIELDS
        assert summary["correct_rate"] >= 0.9
        assert summary["samples_p90"] == np.percentile(outcome.samples_to_decision, 90)


def test_total_regret_adds_the_chosen_arms_loss_over_the_horizon_after_the_decision():
    settings = SimulationSettings(rates=np.array([0.02, 0.03, 0.05]), runs=30, batch_size=200, after=10_000)
    for outcome in simulate(settings, seed=4):
        after = outcome.summary()["regret_total"] - outcome.summary()["regret"]
        assert after == pytest.approx(np.mean(outcome.regret_after))
        assert set(np.round(outcome.regret_after, 6)) <= {0.0, 300.0, 200.0}  # 10,000 x {0, 0.03, 0.02}
        assert (outcome.regret_after == 0).mean() == pytest.approx(outcome.correct.mean())
    default = SimulationSettings(rates=np.array([0.02, 0.05]))
    assert default.after_impressions == default.fixed_total  # one more test cycle of the same traffic


def test_the_even_split_with_the_same_rule_keeps_even_weights_and_stops_by_the_rule(two_arm_outcomes):
    settings, outcomes = two_arm_outcomes
    even = outcomes["even_split_same_rule"]
    # regret of an even split is its samples x the mean gap, up to the multinomial split of each batch
    assert even.regret.sum() == pytest.approx(even.samples_to_decision.sum() * 0.015, rel=0.05)
    assert np.all(even.samples_to_decision <= settings.sample_cap)


def test_fixed_pick_probabilities_match_binomial_experiments_and_sum_to_one():
    rates = np.array([0.040, 0.044, 0.048, 0.050])
    picks = fixed_pick_probabilities(rates, 20_000)
    assert picks.sum() == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(5)
    chosen = rng.binomial(20_000, rates, size=(20_000, 4)).argmax(axis=1)
    observed = np.bincount(chosen, minlength=4) / 20_000
    np.testing.assert_allclose(observed, picks, atol=3 * np.sqrt(0.25 / 20_000))


def test_the_matched_even_split_is_as_often_right_and_pays_its_wrong_picks_after_the_test(two_arm_outcomes):
    settings, outcomes = two_arm_outcomes
    thompson = outcomes["thompson"]
    correct = float(np.mean(thompson.correct))
    if correct == 1.0:  # an unmatchable policy gives no row
        assert matched_summary(settings, thompson) is None
        settings = SimulationSettings(rates=np.array([0.04, 0.044]), runs=5, after=1_000)
        thompson = simulate(settings, ("thompson",), seed=1)[0]
        thompson = type(thompson)(**{**thompson.__dict__, "correct": np.array([1, 1, 1, 0, 1], dtype=bool)})
        correct = 0.8
    row = matched_summary(settings, thompson)
    assert row is not None
    samples, regret = matched_fixed_split(settings.rates, correct)
    assert row["policy"] == "even_split_matched_thompson"
    assert row["samples_to_decision"] == samples == row["samples_p90"]
    assert row["correct_rate"] == correct
    gap = float(settings.rates.max() - settings.rates.min())
    # two arms: the wrong pick has probability 1 - correct (up to the bisection's 0.05% in size)
    expected = regret + settings.after_impressions * (1 - correct) * gap
    assert row["regret_total"] == pytest.approx(expected, rel=2e-3)


def test_fixed_ab_spends_its_whole_horizon_and_its_regret_is_half_of_it_times_the_gap(two_arm_outcomes):
    settings, outcomes = two_arm_outcomes
    per_arm = fixed_horizon_per_arm(settings.rates)
    np.testing.assert_array_equal(outcomes["fixed_ab"].samples_to_decision, 2 * per_arm)
    np.testing.assert_allclose(outcomes["fixed_ab"].regret, per_arm * 0.03)


def test_adaptive_runs_stop_by_the_rule_and_lose_less_than_the_fixed_split(two_arm_outcomes):
    settings, outcomes = two_arm_outcomes
    thompson = outcomes["thompson"]
    assert np.all(thompson.samples_to_decision <= settings.sample_cap)
    before_cap = thompson.samples_to_decision < settings.sample_cap  # the last batch may be cut short
    assert np.all(thompson.samples_to_decision[before_cap] % settings.batch_size == 0)
    np.testing.assert_array_equal(thompson.samples_to_decision[thompson.capped], settings.sample_cap)
    assert thompson.regret.mean() < outcomes["fixed_ab"].regret.mean()
    assert thompson.curve_regret[-1] == pytest.approx(thompson.regret.mean())


def test_same_seed_same_simulation():
    settings = SimulationSettings(rates=np.array([0.03, 0.06]), runs=10, batch_size=500)
    first = [outcome.summary() for outcome in simulate(settings, seed=9)]
    assert first == [outcome.summary() for outcome in simulate(settings, seed=9)]


def test_a_sample_cap_ends_runs_as_capped():
    # epsilon so small that no run can be confident within 5,000 impressions
    settings = SimulationSettings(
        rates=np.array([0.050, 0.051]), runs=10, batch_size=1_000, epsilon=1e-6, max_samples=5_000
    )
    (outcome,) = simulate(settings, ("thompson",), seed=1)
    assert outcome.capped.all()
    np.testing.assert_array_equal(outcome.samples_to_decision, 5_000)


@pytest.mark.parametrize("rates", [[0.05], [0.05, 0.05], [0.0, 0.5], [0.2, 1.0]])
def test_settings_reject_worlds_without_a_single_best_arm(rates):
    with pytest.raises(BanditError):
        SimulationSettings(rates=np.array(rates))


def test_command_line_prints_one_json_object_per_policy(capsys):
    assert main(["--rates", "0.02,0.06", "--runs", "10", "--seed", "1", "--batch-size", "200", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    policies = [row["policy"] for row in rows]
    assert policies[:4] == ["fixed_ab", "thompson", "top_two_thompson", "even_split_same_rule"]
    assert set(policies[4:]) <= {"even_split_matched_thompson", "even_split_matched_top_two_thompson"}
    assert all(set(row) == SUMMARY_FIELDS for row in rows)


def test_command_line_takes_space_separated_rates_as_well_as_commas(capsys):
    common = [
        "--runs",
        "5",
        "--seed",
        "1",
        "--batch-size",
        "200",
        "--json",
        "--policies",
        "fixed_ab,thompson",
    ]
    outputs = []
    for rates in (["0.02,0.06,0.07"], ["0.02", "0.06", "0.07"], ["0.02,", "0.06", "0.07"]):
        assert main(["--rates", *rates, *common]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]
    assert main(["--rates", "0.02", "x", *common]) == 2


def test_command_line_table_and_offline_plot(capsys, tmp_path):
    plot = tmp_path / "sim.html"
    assert main(["--rates", "0.02,0.06", "--runs", "5", "--seed", "1", "--plot", str(plot)]) == 0
    output = capsys.readouterr().out
    assert "regret_total" in output
    assert "top_two_thompson" in output
    html = plot.read_text()
    assert "Samples to decision" in html
    assert "Samples vs correct rate" in html
    assert len(html) > 1_000_000  # plotly.js is inlined, so the page works offline


@pytest.mark.slow
def test_four_arm_acceptance_world_adaptive_policies_decide_sooner_and_lose_less():
    settings = SimulationSettings(rates=np.array([0.040, 0.044, 0.048, 0.050]), runs=50)
    outcomes = {outcome.policy: outcome.summary() for outcome in simulate(settings, seed=1)}
    for policy in ("thompson", "top_two_thompson"):
        assert outcomes[policy]["samples_to_decision"] < outcomes["fixed_ab"]["samples_to_decision"]
        assert outcomes[policy]["regret"] < outcomes["fixed_ab"]["regret"]
        assert outcomes[policy]["correct_rate"] >= 0.85
