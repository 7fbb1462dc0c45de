"""The experiment over time, from its posterior snapshots (one per allocation version).

Cumulative reward is the successes summed over arms at each snapshot. "Saved against an even split"
compares it with what the same traffic would have earned split evenly across the arms, valuing
each arm at its observed success rate: saved = sum_k S_k - N * mean_k(S_k / N_k). (For revenue
experiments the successes are purchases.) Positive means the
bandit earned that many more successes (clicks, carts, purchases) than a 50/50 test would have.
"""

from experiments.models import PosteriorSnapshot

METRIC_NOUN = {
    "click": "clicks",
    "add_to_cart": "add-to-carts",
    "purchase": "purchases",
    "revenue": "purchases",
}


def _even_split_words(saved: float, noun: str, n_arms: int) -> str:
    split = "a 50/50" if n_arms == 2 else f"an even {n_arms}-way"
    count = f"{abs(saved):,.0f}"
    noun = noun.removesuffix("s") if count == "1" else noun  # "1 more click", "2 more clicks"
    if saved >= 0:
        return f"{count} more {noun} than {split} test"
    return f"{count} fewer {noun} than {split} test (the bandit is still exploring)"


def history_section(experiment, arms, arm_rows: list[dict]) -> dict:
    """Time series per snapshot: weights, P(best), cumulative reward and the even-split counterfactual."""
    keys = [a.key for a in arms]
    rates = [row["successes"] / row["trials"] for row in arm_rows if row["trials"] > 0]
    even_rate = sum(rates) / len(rates) if rates else 0.0
    series = {
        "allocation_version": [],
        "created_at": [],
        "weight": {k: [] for k in keys},
        "prob_best": {k: [] for k in keys},
        "cumulative_trials": [],
        "cumulative_reward": [],
        "even_split_reward": [],
    }
    snapshots = PosteriorSnapshot.objects.filter(experiment=experiment).order_by("allocation_version")
    for snapshot in snapshots.only("allocation_version", "created_at", "arms"):
        by_arm = {row["arm"]: row for row in snapshot.arms}
        if not all(k in by_arm for k in keys):
            continue
        trials = sum(by_arm[k]["trials"] for k in keys)
        series["allocation_version"].append(snapshot.allocation_version)
        series["created_at"].append(snapshot.created_at.isoformat())
        for k in keys:
            series["weight"][k].append(by_arm[k]["weight"])
            series["prob_best"][k].append(by_arm[k]["prob_best"])
        series["cumulative_trials"].append(trials)
        series["cumulative_reward"].append(sum(by_arm[k]["successes"] for k in keys))
        series["even_split_reward"].append(trials * even_rate)
    total_trials = sum(row["trials"] for row in arm_rows)
    total_reward = sum(row["successes"] for row in arm_rows)
    saved = total_reward - total_trials * even_rate
    noun = METRIC_NOUN[experiment.reward_metric]
    return {
        "series": series,
        "cumulative_reward": total_reward,
        "even_split_reward": total_trials * even_rate,
        "saved_vs_even_split": saved,
        "saved_in_words": _even_split_words(saved, noun, len(arms)),
    }
