"""Simulated experiments on Bernoulli arms: how long each policy takes to decide, how often it picks
the true best arm, and how many successes it loses on the way.

Policies
  fixed_ab          even split for a fixed horizon, then pick the arm with the highest observed rate.
                    Horizon per arm: a two-sided two-proportion z-test of the best arm against each of
                    the other K - 1 arms at alpha / (K - 1) (Bonferroni), powered (80%) for the
                    smallest of those gaps, i.e. best vs runner-up:
                        n = (z_{1 - alpha / (2 (K - 1))} + z_{power})^2 (p1 q1 + p2 q2) / (p1 - p2)^2.
                    It uses the true rates (an oracle design): the most favourable sizing a fixed
                    split can get, so the comparison does not flatter the bandits.
  thompson,         allocation recomputed after every batch of `batch_size` impressions (like the
  top_two_thompson  beat schedule of the real system), from `draws` posterior draws; after each batch
                    the stopping rule of `bandits.stopping` (P(best) >= threshold and expected loss
                    < epsilon) is checked on the same draws; at `max_samples` (default: the fixed_ab
                    total horizon, so no adaptive run is longer than the fixed test) the arm with the
                    smallest expected loss is picked and the run counts as capped (inconclusive).
  even_split_same_rule
                    an even split checked after every batch with the same P(best) rule as the bandits:
                    what the adaptive allocation adds, apart from stopping early.
  top_two_thompson_glr
                    top-two TS allocation stopped by the GLR (Chernoff) rule of
                    `bandits.identification` at error rate `delta`: correct rate >= 1 - delta for any
                    allocation. Its cap is `max_samples` or 20 x the fixed_ab horizon (the rule's price
                    in samples is larger than the P(best) rule's). Give it a floor (e.g. 0.1) with
                    K >= 3: top-two weights from draws give a clearly bad arm exactly 0, its GLR term
                    then stops growing and the rule cannot fire before the cap.
Regret is expected regret: sum over impressions of (best rate - served arm's rate), in successes.
regret_total adds the loss after the decision: `after` impressions (default: the fixed_ab horizon,
i.e. one more test cycle of the same traffic) served the chosen arm, (best rate - chosen rate) x after.
The even split matched to a policy (`matched_fixed_split`) is sized, not simulated: the shortest even
split whose correct rate equals the policy's, by a normal approximation checked against binomials.
All runs of a policy advance together, vectorised over runs: each batch costs one Beta draw of
shape (draws, active runs, K).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, special, stats

from bandits._validation import check_probability, float_array
from bandits.allocation import apply_floor, weights_from_samples
from bandits.decisions import loss_sums, win_counts
from bandits.errors import BanditError
from bandits.identification import chernoff_stop

# Appended names keep the random streams of the earlier ones (simulate spawns one per name, in order).
POLICY_NAMES = ("fixed_ab", "thompson", "top_two_thompson", "even_split_same_rule", "top_two_thompson_glr")
DEFAULT_POLICIES = ("fixed_ab", "thompson", "top_two_thompson", "even_split_same_rule")
ADAPTIVE_POLICIES = ("thompson", "top_two_thompson", "top_two_thompson_glr")
GLR_CAP_FACTOR = 20
DEFAULT_BATCH_SIZE = 1_000
DEFAULT_SIMULATION_DRAWS = 2_000

ProgressCallback = Callable[[str, int], None]  # (policy, runs decided in this step)


@dataclass(frozen=True)
class SimulationSettings:
    """What to simulate; rates: (n_arms,) true success probabilities in (0, 1) with one best arm."""

    rates: np.ndarray
    runs: int = 200
    batch_size: int = DEFAULT_BATCH_SIZE
    threshold: float = 0.95
    epsilon: float = 0.001
    floor: float = 0.0
    burn_in: int = 0
    draws: int = DEFAULT_SIMULATION_DRAWS
    alpha: float = 0.05
    power: float = 0.8
    top_two_beta: float = 0.5
    max_samples: int | None = None
    delta: float = 0.05
    after: int | None = None

    def __post_init__(self) -> None:
        rates = float_array("rates", self.rates)
        if len(rates) < 2 or np.any(rates <= 0) or np.any(rates >= 1):
            raise BanditError(f"rates must be two or more probabilities in (0, 1), got {rates}")
        if np.count_nonzero(rates == rates.max()) > 1:
            raise BanditError("rates must have a single best arm, or 'correct' has no meaning")
        for name in ("runs", "batch_size", "draws"):
            if getattr(self, name) < 1:
                raise BanditError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_probability("threshold", self.threshold)
        check_probability("alpha", self.alpha)
        check_probability("power", self.power)
        check_probability("delta", self.delta)
        if self.after is not None and self.after < 0:
            raise BanditError(f"after must be >= 0 impressions, got {self.after}")
        if not 0.0 <= self.floor < 1.0:
            raise BanditError(f"floor must be in [0, 1), got {self.floor}")
        object.__setattr__(self, "rates", rates)

    @property
    def n_arms(self) -> int:
        return len(self.rates)

    @property
    def fixed_total(self) -> int:
        """Total impressions of the fixed_ab test: K x the per-arm horizon."""
        return self.n_arms * fixed_horizon_per_arm(self.rates, alpha=self.alpha, power=self.power)

    @property
    def sample_cap(self) -> int:
        return int(self.max_samples) if self.max_samples is not None else self.fixed_total

    @property
    def glr_sample_cap(self) -> int:
        return int(self.max_samples) if self.max_samples is not None else GLR_CAP_FACTOR * self.fixed_total

    @property
    def after_impressions(self) -> int:
        """Impressions served the chosen arm after the decision, counted in regret_total."""
        return int(self.after) if self.after is not None else self.fixed_total

    @property
    def gaps(self) -> np.ndarray:
        """(n_arms,) best rate - each arm's rate."""
        return np.asarray(self.rates.max() - self.rates)


@dataclass(frozen=True)
class PolicyOutcome:
    """One policy over all runs; per-run arrays (runs,), curve arrays (n_points,)."""

    policy: str
    samples_to_decision: np.ndarray
    correct: np.ndarray
    regret: np.ndarray
    capped: np.ndarray
    regret_after: np.ndarray  # lost successes after the decision: (best - chosen rate) x after
    curve_samples: np.ndarray = field(repr=False)
    curve_regret: np.ndarray = field(repr=False)  # mean cumulative regret over runs (stopped runs hold)

    def summary(self) -> dict[str, float | str]:
        """Means over runs, in the `python -m bandits.simulate --json` format.

        The four pinned fields, then samples_p90 (90th percentile of samples_to_decision) and
        regret_total (regret during the test plus regret_after, mean over runs).
        """
        return {
            "policy": self.policy,
            "samples_to_decision": float(np.mean(self.samples_to_decision)),
            "correct_rate": float(np.mean(self.correct)),
            "regret": float(np.mean(self.regret)),
            "samples_p90": float(np.percentile(self.samples_to_decision, 90)),
            "regret_total": float(np.mean(self.regret + self.regret_after)),
        }


def fixed_horizon_per_arm(rates: np.ndarray, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Impressions per arm of the fixed split (formula in the module docstring)."""
    ordered = np.sort(np.asarray(rates, dtype=np.float64))[::-1]
    best, runner_up = ordered[0], ordered[1]
    if best <= runner_up:
        raise BanditError("the fixed horizon needs a single best arm")
    comparisons = len(ordered) - 1
    z_alpha = stats.norm.isf(alpha / comparisons / 2.0)
    z_power = stats.norm.ppf(power)
    variance = best * (1.0 - best) + runner_up * (1.0 - runner_up)
    return int(np.ceil((z_alpha + z_power) ** 2 * variance / (best - runner_up) ** 2))


def fixed_correct_rate(rates: np.ndarray, per_arm: float) -> float:
    """P(the fixed split picks the best arm) after `per_arm` impressions per arm.

    Normal approximation of the observed rates, X_k ~ N(p_k, p_k (1 - p_k) / n), and one quadrature:
    P(correct) = integral f_best(x) prod_{j != best} Phi((x - p_j) / s_j) dx.
    """
    rates = np.asarray(rates, dtype=np.float64)
    return _pick_probability(rates, per_arm, int(np.argmax(rates)))


def fixed_pick_probabilities(rates: np.ndarray, per_arm: float) -> np.ndarray:
    """(n_arms,) P(the fixed split picks each arm) after `per_arm` impressions per arm (same quadrature)."""
    rates = np.asarray(rates, dtype=np.float64)
    return np.array([_pick_probability(rates, per_arm, arm) for arm in range(len(rates))])


def _pick_probability(rates: np.ndarray, per_arm: float, best: int) -> float:
    sd = np.sqrt(rates * (1.0 - rates) / per_arm)
    others = np.arange(len(rates)) != best

    others_rate, others_sd = rates[others], sd[others]

    def integrand(x: float) -> float:
        # special.ndtr and an explicit normal density: scipy.stats' per-call overhead would dominate.
        z = (x - rates[best]) / sd[best]
        density = np.exp(-0.5 * z * z) / (sd[best] * np.sqrt(2.0 * np.pi))
        return float(density * np.prod(special.ndtr((x - others_rate) / others_sd)))

    low, high = rates[best] - 12 * sd[best], rates[best] + 12 * sd[best]
    value, _ = integrate.quad(integrand, low, high, points=[rates[best]], limit=200)
    return float(value)


def matched_fixed_split(rates: np.ndarray, correct_rate: float) -> tuple[float, float]:
    """Total impressions and regret of the shortest even split whose correct rate is `correct_rate`.

    The fair yardstick for an adaptive policy: a fixed split that is exactly as often right, found by
    bisection on the per-arm size with `fixed_correct_rate`. Regret of an even split: n sum_k gap_k.
    """
    rates = np.asarray(rates, dtype=np.float64)
    if not 1.0 / len(rates) < correct_rate < 1.0:
        raise BanditError(f"correct_rate must be in (1/K, 1) to match, got {correct_rate}")
    low, high = 1.0, 1e10
    while high / low > 1.0005:
        middle = np.sqrt(low * high)
        if fixed_correct_rate(rates, middle) < correct_rate:
            low = middle
        else:
            high = middle
    gaps = rates.max() - rates
    return high * len(rates), high * float(gaps.sum())


def matched_summary(settings: SimulationSettings, outcome: PolicyOutcome) -> dict[str, float | str] | None:
    """The even split right exactly as often as `outcome`, in the summary format; None if unmatchable.

    Policy name `even_split_matched_<policy>`; samples_p90 equals samples_to_decision (fixed size);
    regret_total adds after x sum_k P(pick k) gap_k, P(pick k) from `fixed_pick_probabilities`.
    """
    correct = float(np.mean(outcome.correct))
    if not 1.0 / settings.n_arms < correct < 1.0:
        return None
    samples, regret = matched_fixed_split(settings.rates, correct)
    picks = fixed_pick_probabilities(settings.rates, samples / settings.n_arms)
    return {
        "policy": f"even_split_matched_{outcome.policy}",
        "samples_to_decision": samples,
        "correct_rate": correct,
        "regret": regret,
        "samples_p90": samples,
        "regret_total": regret + settings.after_impressions * float(picks @ settings.gaps),
    }


def simulate_fixed_ab(settings: SimulationSettings, rng: np.random.Generator) -> PolicyOutcome:
    """Even split to the fixed horizon, then the highest observed rate (ties broken at random)."""
    rates = settings.rates
    per_arm = fixed_horizon_per_arm(rates, alpha=settings.alpha, power=settings.power)
    successes = rng.binomial(per_arm, rates, size=(settings.runs, settings.n_arms))
    choice = np.argmax(successes + rng.random(successes.shape) * 0.5, axis=1)
    gaps = rates.max() - rates
    total = per_arm * settings.n_arms
    curve_samples = np.linspace(0.0, total, 101)
    return PolicyOutcome(
        policy="fixed_ab",
        samples_to_decision=np.full(settings.runs, float(total)),
        correct=choice == np.argmax(rates),
        regret=np.full(settings.runs, per_arm * gaps.sum()),
        capped=np.zeros(settings.runs, dtype=bool),
        regret_after=settings.after_impressions * gaps[choice],
        curve_samples=curve_samples,
        curve_regret=curve_samples * gaps.mean(),
    )


def _stopping_from_samples(
    samples: np.ndarray, threshold: float, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per run: stop by the rule, and the arm it would pick; samples (draws, runs, K)."""
    draws = samples.shape[0]
    prob = win_counts(samples) / draws
    loss = loss_sums(samples)[0] / draws
    rows = np.arange(prob.shape[0])
    best = np.argmax(prob, axis=1)
    confident = (prob[rows, best] >= threshold) & (loss[rows, best] < epsilon)
    return confident, np.where(confident, best, np.argmin(loss, axis=1))


@dataclass
class _RunState:
    """Mutable state of all runs of one adaptive policy (private to the simulation loop)."""

    successes: np.ndarray
    trials: np.ndarray
    weights: np.ndarray
    active: np.ndarray
    regret: np.ndarray
    decided_at: np.ndarray
    choice: np.ndarray
    capped: np.ndarray

    @classmethod
    def start(cls, runs: int, n_arms: int) -> _RunState:
        return cls(
            successes=np.zeros((runs, n_arms)),
            trials=np.zeros((runs, n_arms)),
            weights=np.full((runs, n_arms), 1.0 / n_arms),
            active=np.ones(runs, dtype=bool),
            regret=np.zeros(runs),
            decided_at=np.zeros(runs),
            choice=np.full(runs, -1),
            capped=np.zeros(runs, dtype=bool),
        )


def _serve_batch(
    state: _RunState, rows: np.ndarray, settings: SimulationSettings, cap: int, rng: np.random.Generator
) -> None:
    """Serve one batch to the given runs at their current weights and record the outcomes."""
    remaining = cap - state.trials[rows].sum(axis=1)
    batch = np.minimum(settings.batch_size, remaining).astype(np.int64)
    weights = state.weights[rows]
    served = rng.multinomial(batch, weights / weights.sum(axis=1, keepdims=True))
    state.successes[rows] += rng.binomial(served, settings.rates)
    state.trials[rows] += served
    state.regret[rows] += served @ settings.gaps


def _next_weights(
    samples: np.ndarray, trials: np.ndarray, policy: str, settings: SimulationSettings
) -> np.ndarray:
    """Allocation for the next batch, from the same draws as the stopping check."""
    if policy == "even_split_same_rule":
        return np.full(trials.shape, 1.0 / settings.n_arms)
    allocation = "top_two_thompson" if policy == "top_two_thompson_glr" else policy
    weights = weights_from_samples(samples, allocation, settings.top_two_beta)
    weights = apply_floor(weights, settings.floor, np.ones(settings.n_arms, dtype=bool))
    in_burn_in = trials.min(axis=1) < settings.burn_in
    weights[in_burn_in] = 1.0 / settings.n_arms
    return weights


def simulate_adaptive(
    settings: SimulationSettings,
    policy: str,
    rng: np.random.Generator,
    progress: ProgressCallback | None = None,
) -> PolicyOutcome:
    """All runs of a policy stopped by a rule (every policy but fixed_ab), batch by batch until each stops."""
    if policy not in POLICY_NAMES or policy == "fixed_ab":
        raise BanditError(f"policy must be one of {POLICY_NAMES[1:]}, got {policy!r}")
    glr = policy == "top_two_thompson_glr"
    cap = settings.glr_sample_cap if glr else settings.sample_cap
    state = _RunState.start(settings.runs, settings.n_arms)
    curve_samples, curve_regret = [0.0], [0.0]
    while state.active.any():
        rows = np.flatnonzero(state.active)
        _serve_batch(state, rows, settings, cap, rng)
        alpha = 1.0 + state.successes[rows]
        beta = 1.0 + state.trials[rows] - state.successes[rows]
        samples = rng.beta(alpha, beta, size=(settings.draws, *alpha.shape))
        if glr:
            confident, pick = chernoff_stop(state.successes[rows], state.trials[rows], settings.delta)
        else:
            confident, pick = _stopping_from_samples(samples, settings.threshold, settings.epsilon)
        at_cap = state.trials[rows].sum(axis=1) >= cap
        done = confident | at_cap
        state.choice[rows[done]] = pick[done]
        state.decided_at[rows[done]] = state.trials[rows[done]].sum(axis=1)
        state.capped[rows[at_cap & ~confident]] = True
        state.active[rows[done]] = False
        going = ~done
        state.weights[rows[going]] = _next_weights(
            samples[:, going], state.trials[rows[going]], policy, settings
        )
        curve_samples.append(curve_samples[-1] + settings.batch_size)
        curve_regret.append(float(state.regret.mean()))
        if progress is not None:
            progress(policy, int(done.sum()))
    return PolicyOutcome(
        policy=policy,
        samples_to_decision=state.decided_at,
        correct=state.choice == np.argmax(settings.rates),
        regret=state.regret,
        capped=state.capped,
        regret_after=settings.after_impressions * settings.gaps[state.choice],
        curve_samples=np.array(curve_samples),
        curve_regret=np.array(curve_regret),
    )


def simulate(
    settings: SimulationSettings,
    policies: tuple[str, ...] = DEFAULT_POLICIES,
    *,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> list[PolicyOutcome]:
    """Every policy on the same settings; each policy gets its own child random stream of `seed`."""
    unknown = set(policies) - set(POLICY_NAMES)
    if unknown:
        raise BanditError(f"unknown policies {sorted(unknown)}; choose from {POLICY_NAMES}")
    streams = dict(zip(POLICY_NAMES, np.random.default_rng(seed).spawn(len(POLICY_NAMES)), strict=True))
    outcomes = []
    for policy in policies:
        if policy == "fixed_ab":
            outcome = simulate_fixed_ab(settings, streams[policy])
            if progress is not None:
                progress(policy, settings.runs)
        else:
            outcome = simulate_adaptive(settings, policy, streams[policy], progress)
        outcomes.append(outcome)
    return outcomes
