"""Off-policy value of "always arm X" for each arm, from the exposure log (the logged decisions).

Each Exposure row is one logged decision with the arm served and the exact propensity it had.
The target policy "always arm X" gives probability 1 to rows where X was logged and 0 elsewhere,
so IPS averages r / propensity over X's rows across *all* decisions, and SNIPS normalises by the
sum of the weights. Beside them the naive mean of X's rows, which a bandit biases: it weights each
period by how much traffic the bandit happened to give X then.
"""

import numpy as np

from bandits import BanditError, ope
from experiments.models import Exposure

# Reports read at most this many most recent decisions, so a long experiment stays fast.
OFF_POLICY_MAX_ROWS = 200_000
BOOTSTRAP_RESAMPLES = 200
REWARD_FIELD = {
    "click": "clicked",
    "add_to_cart": "added_to_cart",
    "purchase": "purchased",
    "revenue": "revenue",
}
EXPLANATION = (
    "The naive mean weights each period by how much traffic the bandit gave the arm then; IPS and SNIPS "
    "reweight every decision by 1 / its logged propensity, estimating what the arm would earn if it got "
    "all traffic all the time. A big gap means the rate drifted while the weights moved."
)


def _logged(experiment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    field = REWARD_FIELD[experiment.reward_metric]
    rows = list(
        Exposure.objects.filter(experiment_id=experiment.id, holdout=False, arm_id__isnull=False)
        .order_by("-id")
        .values_list("arm_id", "propensity", field)[:OFF_POLICY_MAX_ROWS]
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    arm_ids, propensity, reward = zip(*rows, strict=True)
    return np.array(arm_ids), np.array(propensity, dtype=float), np.array(reward, dtype=float)


def off_policy_section(experiment, arms) -> dict:
    """IPS and SNIPS value per arm (with a bootstrap interval for SNIPS) beside the naive mean."""
    arm_ids, propensity, reward = _logged(experiment)
    section = {"decisions": int(len(arm_ids)), "explanation": EXPLANATION, "arms": []}
    valid = (propensity > 0) & (propensity <= 1)
    arm_ids, propensity, reward = arm_ids[valid], propensity[valid], reward[valid]
    for n, arm in enumerate(arms):
        target = (arm_ids == arm.id).astype(float)
        row = {"arm": arm.key, "decisions": int(target.sum()), "naive": None, "ips": None, "snips": None}
        row.update({"snips_ci_low": None, "snips_ci_high": None})
        if target.sum() > 0:
            row["naive"] = float(reward[target > 0].mean())
            row["ips"] = ope.ips(reward, propensity, target)
            row["snips"] = ope.snips(reward, propensity, target)
            try:
                interval = ope.bootstrap_ci(
                    ope.snips, reward, propensity, target, n_boot=BOOTSTRAP_RESAMPLES, seed=n
                )
                row["snips_ci_low"], row["snips_ci_high"] = float(interval.low), float(interval.high)
            except BanditError:
                pass
        section["arms"].append(row)
    return section
