"""Auto-conclude: an experiment that opted in concludes and promotes its winner by itself.

Called by the allocation step right after it snapshots the stopping rule, inside the same
transaction and row lock, so the conclusion and the snapshot that justified it commit together.
A winner that breached a guardrail is never auto-concluded: the experiment keeps running, and the
snapshot's stopping summary says why.
"""

from simple_history.utils import update_change_reason

from experiments.models import Experiment

from .experiments import experiment_conclude


def experiment_auto_conclude_if_due(*, experiment: Experiment, stopping: dict) -> Experiment | None:
    """Conclude with ``promote=True`` when the experiment opted in and the rule names a winner.

    ``stopping`` is the snapshot's stopping dict ({stop, winner (arm key), summary, ...}).
    Returns the concluded experiment, or None when nothing was due. The audit history records
    the reason ("Auto-concluded: ..." with the rule's plain-words summary).
    """
    if not (experiment.auto_conclude and stopping.get("stop") and stopping.get("winner")):
        return None
    winner = experiment.arms.select_related("variant").get(key=stopping["winner"])
    if winner.guardrail_breached_at is not None:
        return None
    concluded = experiment_conclude(experiment=experiment, winner=winner, promote=True)
    reason = f"Auto-concluded: stopping rule met. {stopping.get('summary', '')}".strip()
    update_change_reason(concluded, reason[:100])
    slot = concluded.slot
    slot.refresh_from_db()
    update_change_reason(slot, f"Auto-promoted {winner.variant.key} from {concluded.key}"[:100])
    return concluded
