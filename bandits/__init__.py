"""Pure statistics engine of the experiments: posteriors, allocation, decisions, off-policy estimates.

No Django here (an import-linter contract enforces it): plain numbers, numpy arrays and frozen
dataclasses in and out. See bandits/README.md for the models, formulas and references.
"""

from bandits import ope
from bandits.allocation import POLICIES, allocation_weights
from bandits.clustered import ClusterSums, tempered_posterior
from bandits.decisions import MonteCarloSummary, expected_loss, posterior_summary, prob_best
from bandits.epochs import EpochEstimates, epoch_estimates
from bandits.errors import BanditError
from bandits.exact import (
    expected_loss_exact,
    expected_loss_exact_two,
    prob_best_exact,
    prob_best_exact_two,
)
from bandits.guardrails import GuardrailCheck, guardrail_check, guardrail_hold, guardrails_check
from bandits.interleaving import (
    TIE,
    DecisionCredit,
    Interleaving,
    decision_credit,
    preferred_team,
    team_credit,
    team_draft_interleave,
    team_draft_multileave,
)
from bandits.nonstationary import discounted_stats, windowed_stats
from bandits.posteriors import BetaBernoulli, Posterior
from bandits.preference import PreferencePosterior, PreferenceTest, preference_sequential_test
from bandits.revenue import LogNormalPrior, OrderValuePosterior, RevenuePosterior
from bandits.sample_ratio import SampleRatioCheck, sample_ratio_check
from bandits.segment_ope import SegmentLog, segment_policy_value
from bandits.segment_winners import SegmentWinners, segment_winners
from bandits.segments import (
    PoolingSettings,
    SegmentCounts,
    SegmentPosterior,
    segment_allocation_weights,
    segment_key,
    segment_posterior,
)
from bandits.sequential import SequentialTest, msprt_two_proportions
from bandits.stopping import StoppingState, preference_stopping_state, stopping_state
from bandits.uplift import UpliftSummary, uplift_vs_control

__all__ = [
    "POLICIES",
    "TIE",
    "BanditError",
    "BetaBernoulli",
    "ClusterSums",
    "DecisionCredit",
    "EpochEstimates",
    "GuardrailCheck",
    "Interleaving",
    "LogNormalPrior",
    "MonteCarloSummary",
    "OrderValuePosterior",
    "PoolingSettings",
    "Posterior",
    "PreferencePosterior",
    "PreferenceTest",
    "RevenuePosterior",
    "SampleRatioCheck",
    "SegmentCounts",
    "SegmentLog",
    "SegmentPosterior",
    "SegmentWinners",
    "SequentialTest",
    "StoppingState",
    "UpliftSummary",
    "allocation_weights",
    "decision_credit",
    "discounted_stats",
    "epoch_estimates",
    "expected_loss",
    "expected_loss_exact",
    "expected_loss_exact_two",
    "guardrail_check",
    "guardrail_hold",
    "guardrails_check",
    "msprt_two_proportions",
    "ope",
    "posterior_summary",
    "preference_sequential_test",
    "preference_stopping_state",
    "preferred_team",
    "prob_best",
    "prob_best_exact",
    "prob_best_exact_two",
    "sample_ratio_check",
    "segment_allocation_weights",
    "segment_key",
    "segment_policy_value",
    "segment_posterior",
    "segment_winners",
    "stopping_state",
    "team_credit",
    "team_draft_interleave",
    "team_draft_multileave",
    "tempered_posterior",
    "uplift_vs_control",
    "windowed_stats",
]
