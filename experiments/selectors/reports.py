"""Experiment reports: read-only figures computed from the arms' posteriors."""

from django.conf import settings

from bandits import expected_loss, prob_best
from experiments.models import Experiment
from experiments.services.reward_models import arm_stats, posterior_build

REPORT_DRAWS = 100_000


def experiment_list() -> list[dict]:
    return [
        {
            "key": e.key,
            "slot": e.slot.key,
            "status": e.status,
            "policy": e.policy,
            "reward_metric": e.reward_metric,
            "allocation_version": e.allocation_version,
            "started_at": e.started_at,
            "concluded_at": e.concluded_at,
            "winner": e.winner.key if e.winner else None,
        }
        for e in Experiment.objects.select_related("slot", "winner").order_by("slot__position", "key")
    ]


def report_build(*, experiment: Experiment, draws: int = REPORT_DRAWS, seed: int = 0) -> dict:
    """The report's core: per arm trials, reward, posterior mean and 95% interval, P(best), loss, weight."""
    arms = list(experiment.arms.select_related("variant").order_by("key"))
    posteriors = [getattr(a, "posterior", None) for a in arms]
    report = {
        "experiment": experiment.key,
        "slot": experiment.slot.key,
        "status": experiment.status,
        "policy": experiment.policy,
        "reward_metric": experiment.reward_metric,
        "allocation_version": experiment.allocation_version,
        "arms": [],
    }
    if not arms or any(p is None for p in posteriors):
        return report
    stats = arm_stats(posteriors, experiment.reward_metric)
    post = posterior_build(
        stats, reward_metric=experiment.reward_metric, prior=(experiment.prior_alpha, experiment.prior_beta)
    )
    mean = post.mean()
    low, high = post.interval(0.95)
    pbest = prob_best(post, draws=draws, seed=seed)
    loss = expected_loss(post, draws=draws, seed=seed)
    for i, arm in enumerate(arms):
        report["arms"].append(
            {
                "arm": arm.key,
                "variant": arm.variant.key,
                "control": arm.is_control,
                "trials": int(stats.trials[i]),
                "successes": int(stats.successes[i]),
                "mean": float(mean[i]),
                "ci_low": float(low[i]),
                "ci_high": float(high[i]),
                "prob_best": float(pbest[i]),
                "expected_loss": float(loss[i]),
                "weight": float(arm.weight),
            }
        )
    report["allocation_draws"] = settings.ALLOCATION_DRAWS
    return report
