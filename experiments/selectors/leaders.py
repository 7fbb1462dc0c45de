"""Which variant leads each slot's running experiment, from its latest allocation snapshot.

``rate`` and ``trials`` are the leader's own (its CTR for a click experiment, over its own
impressions), not the experiment's.
"""

from experiments.models import Experiment, PosteriorSnapshot
from experiments.models.experiments import Status


def slot_leaders() -> list[dict]:
    rows = []
    running = (
        Experiment.objects.filter(status=Status.RUNNING)
        .select_related("slot")
        .order_by("slot__page", "slot__position")
    )
    for experiment in running:
        snapshot = (
            PosteriorSnapshot.objects.filter(experiment=experiment).order_by("-allocation_version").first()
        )
        arms = snapshot.arms if snapshot else []
        best = max(arms, key=lambda a: a["prob_best"], default=None)
        rows.append(
            {
                "slot": experiment.slot.key,
                "experiment": experiment.key,
                "leader": best["variant"] if best else None,
                "prob_best": best["prob_best"] if best else 0.0,
                "rate": best["successes"] / best["trials"] if best and best["trials"] else 0.0,
                "trials": best["trials"] if best else 0,
            }
        )
    return rows
