"""Pure statistics engine of the experiments: posteriors, allocation, decisions, off-policy estimates.

No Django here (an import-linter contract enforces it): plain numbers, numpy arrays and frozen
dataclasses in and out. See bandits/README.md for the models, formulas and references.
"""

from bandits import ope
from bandits.allocation import POLICIES, allocation_weights
from bandits.decisions import MonteCarloSummary, expected_loss, posterior_summary, prob_best
from bandits.errors import BanditError
from bandits.exact import (
    expected_loss_exact,
    expected_loss_exact_two,
    prob_best_exact,
    prob_best_exact_two,
)
from bandits.posteriors import BetaBernoulli, Posterior
from bandits.stopping import StoppingState, stopping_state

__all__ = [
    "POLICIES",
    "BanditError",
    "BetaBernoulli",
    "MonteCarloSummary",
    "Posterior",
    "StoppingState",
    "allocation_weights",
    "expected_loss",
    "expected_loss_exact",
    "expected_loss_exact_two",
    "ope",
    "posterior_summary",
    "prob_best",
    "prob_best_exact",
    "prob_best_exact_two",
    "stopping_state",
]
