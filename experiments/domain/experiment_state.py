"""An experiment's state in a few words, for the experiment lists (reports index, admin changelist).

One rule for both lists and the admin's "Needs attention" panel: a machine ``state`` to sort and
filter by, and a short ``phrase`` for people. The full sentence stays in the report's stopping
summary; this is the one-line version of it.

Which state wins when several hold, for a running experiment:

1. ``srm``: a sample-ratio mismatch means assignment or logging is broken, so no figure of the
   experiment can be trusted, a "ready to conclude" least of all.
2. ``guardrail_breached`` when the stopping rule's winner breached a guardrail: it will not be
   concluded or promoted, so "ready" would mislead.
3. ``ready``: the stopping rule picked a winner.
4. ``guardrail_breached`` when another arm breached: the arm is already held at the exploration
   floor, but a person should know; a ready experiment is still shown as ready (the breached arm
   is not the one to ship), and the list's guardrail flag says which arm breached.
5. ``inconclusive``: the sample cap is reached without a clear winner.
6. ``keep_going``, with the leader's P(best) against the threshold it needs.

Draft, paused and concluded experiments serve nothing of their own, so their status is the state.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from experiments.domain import report_numbers

READY = "ready"
KEEP_GOING = "keep_going"
INCONCLUSIVE = "inconclusive"
GUARDRAIL_BREACHED = "guardrail_breached"
SRM = "srm"
DRAFT = "draft"
PAUSED = "paused"
CONCLUDED = "concluded"

# In the order of the filter and of a sort by state: what needs someone first.
STATE_LABELS = {
    SRM: "Sample ratio mismatch",
    GUARDRAIL_BREACHED: "Guardrail breached",
    READY: "Ready to conclude",
    INCONCLUSIVE: "Inconclusive",
    KEEP_GOING: "Keep going",
    PAUSED: "Paused",
    DRAFT: "Draft",
    CONCLUDED: "Concluded",
}
ATTENTION_STATES = (SRM, GUARDRAIL_BREACHED, READY)


@dataclass(frozen=True)
class ExperimentState:
    state: str
    phrase: str


def threshold_text(threshold: float) -> str:
    """A setting as typed: 0.95 -> "95%", 0.975 -> "97.5%"."""
    return f"{threshold * 100:.2f}".rstrip("0").rstrip(".") + "%"


def measured_text(prob: float, *, below: float) -> str:
    """A measured probability as the tables write it ("56.5%", "> 99.9%"), except that a leader
    just under the threshold is rounded down, so 94.96% never reads "has 95.0%" next to "needs 95%"."""
    shown = report_numbers.probability(prob)
    if prob < below and round(prob * 100, 1) >= round(below * 100, 1):
        return f"{math.floor(prob * 1000) / 10:.1f}%"
    return shown


def _breached(words: str, breached_arms: Sequence[str]) -> str:
    return f"{words}: {', '.join(breached_arms)}" if breached_arms else words


def experiment_state(
    *,
    status: str,
    stopping: Mapping | None,
    threshold: float,
    leader_prob_best: float | None,
    srm_mismatch: bool = False,
    breached_arms: Sequence[str] = (),
    winner: str | None = None,
) -> ExperimentState:
    """The state of one experiment.

    status: the lifecycle status. stopping: the latest allocation snapshot's ``stopping`` dict
    ({stop, reason, winner, inconclusive, guardrail_breached, ...}), None or {} before the first
    allocation. threshold: the experiment's P(best) threshold. leader_prob_best: the leader's
    P(best) in that snapshot. breached_arms: arms flagged by a guardrail, named for people
    ("als-v3 on click").
    winner: for a concluded experiment, the winner's name, None when it ended without one.
    """
    if status == "draft":
        return ExperimentState(DRAFT, "draft: not started")
    if status == "concluded":
        phrase = f"concluded: {winner} won" if winner else "concluded without a winner"
        return ExperimentState(CONCLUDED, phrase)
    if status == "paused":
        return ExperimentState(PAUSED, "paused: the slot serves its default")
    return _running_state(
        stopping=stopping or {},
        threshold=threshold,
        leader_prob_best=leader_prob_best,
        srm_mismatch=srm_mismatch,
        breached_arms=breached_arms,
    )


def _running_state(
    *,
    stopping: Mapping,
    threshold: float,
    leader_prob_best: float | None,
    srm_mismatch: bool,
    breached_arms: Sequence[str],
) -> ExperimentState:
    if srm_mismatch:
        return ExperimentState(SRM, "sample ratio mismatch: do not trust the results")
    if stopping.get("guardrail_breached"):
        words = _breached("guardrail breached by the winner", breached_arms)
        return ExperimentState(GUARDRAIL_BREACHED, words)
    if stopping.get("stop") and not stopping.get("inconclusive") and stopping.get("winner"):
        return ExperimentState(READY, "ready to conclude")
    if breached_arms:
        return ExperimentState(GUARDRAIL_BREACHED, _breached("guardrail breached", breached_arms))
    if stopping.get("inconclusive"):
        return ExperimentState(INCONCLUSIVE, "inconclusive at the sample cap")
    if leader_prob_best is None:
        return ExperimentState(KEEP_GOING, "keep going: no decisions yet")
    needs = threshold_text(threshold)
    if leader_prob_best >= threshold:
        # P(best) is there, but the expected loss of choosing the leader is still above the limit.
        return ExperimentState(
            KEEP_GOING, f"keep going: has {measured_text(leader_prob_best, below=threshold)}, risk too high"
        )
    return ExperimentState(
        KEEP_GOING, f"keep going: needs {needs}, has {measured_text(leader_prob_best, below=threshold)}"
    )
