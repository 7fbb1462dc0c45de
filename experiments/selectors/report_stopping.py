"""The report's stopping section: the rule's verdict and a headline that prints the table's figures.

The verdict (stop, reason, winner, leader) is the allocation snapshot's, the one that set the
current weights; before the first allocation it is drawn now with the same draws as the table.
The headline is written here rather than taken from ``bandits.stopping_state``'s summary, so its
P(best) and expected loss are formatted by the same functions as the arm table and equal it
after rounding, and it says what is true of the experiment's state: a paused experiment serves
no traffic, a concluded one names its winner, and neither is told to keep going or to conclude.
"""

from django.conf import settings

from bandits import stopping_state
from experiments.domain import report_numbers
from experiments.models.experiments import Status
from experiments.selectors.guardrail_rules import stopping_guardrail_checked
from experiments.selectors.reward_models import loss_epsilon_shown, stopping_rule


def arm_label(arm) -> str:
    """An arm as merchandisers know it: by its variant, with the arm key beside."""
    return f"{arm.variant.key} (arm {arm.key})"


def _leader_of(rows: list[dict], min_successes: float) -> int | None:
    """Highest P(best) among arms with enough successes (snapshots older than the stored leader)."""
    eligible = [i for i, row in enumerate(rows) if row["successes_at_snapshot"] >= min_successes]
    return max(eligible, key=lambda i: rows[i]["prob_best"], default=None)


def _verdict(experiment, arms, rows, snapshot, post, stats, rule: dict, *, draws: int, seed: int) -> dict:
    """stop, reason, winner, leader (arm positions or None) and inconclusive."""
    keys = [a.key for a in arms]
    if snapshot is not None:
        stored = snapshot.stopping or {}
        if "leader" in stored:
            leader = keys.index(stored["leader"]) if stored["leader"] in keys else None
        else:
            leader = _leader_of(rows, rule.get("min_successes", 0))
        return {
            "stop": bool(stored.get("stop", False)),
            "reason": stored.get("reason", "continue"),
            "winner": keys.index(stored["winner"]) if stored.get("winner") in keys else None,
            "leader": leader,
            "inconclusive": bool(stored.get("inconclusive", False)),
        }
    state = stopping_state(
        post,
        threshold=experiment.prob_best_threshold,
        max_samples=experiment.max_samples,
        trials=stats.trials,
        draws=draws,
        seed=seed,
        **rule,
    )
    return {
        "stop": bool(state.stop),
        "reason": state.reason,
        "winner": state.winner,
        "leader": state.leader,
        "inconclusive": bool(state.inconclusive),
    }


def _loss_words(experiment, value: float) -> str:
    """An expected loss as the table prints it, with its unit spelled out for revenue."""
    shown = report_numbers.expected_loss(
        value, reward_metric=experiment.reward_metric, currency=settings.SHOP_CURRENCY
    )
    return f"{shown} per impression" if experiment.reward_metric == "revenue" else shown


def _lead_words(experiment, arms, rows, verdict: dict, rule: dict) -> str:
    """Who leads, with the table's P(best) and expected loss; or why no arm can lead."""
    minimum = rule.get("min_successes", 0)
    if verdict["leader"] is None:
        return f"no arm can lead before it has {report_numbers.count(minimum)} purchases"
    i = verdict["leader"]
    loss = _loss_words(experiment, rows[i]["expected_loss"])
    words = (
        f"{arm_label(arms[i])} leads with {report_numbers.probability(rows[i]['prob_best'])} probability "
        f"of being best and an expected loss of {loss}"
    )
    waiting = [
        arm_label(a) for a, row in zip(arms, rows, strict=True) if row["successes_at_snapshot"] < minimum
    ]
    if waiting:
        words += f" ({', '.join(waiting)} cannot lead before {report_numbers.count(minimum)} purchases)"
    return words


def _verdict_words(experiment, arms, rows, verdict: dict, rule: dict) -> str:
    if verdict["reason"] == "confident" and verdict["winner"] is not None:
        i = verdict["winner"]
        loss = _loss_words(experiment, rows[i]["expected_loss"])
        return (
            f"{arm_label(arms[i])} is best with {report_numbers.probability(rows[i]['prob_best'])} "
            f"probability; choosing it now risks an expected loss of {loss}."
        )
    lead = _lead_words(experiment, arms, rows, verdict, rule)
    if verdict["reason"] == "max_samples":
        cap = report_numbers.count(experiment.max_samples)
        return (
            f"Inconclusive: the sample cap of {cap} impressions is reached and "
            f"no arm is clearly best; {lead}."
        )
    epsilon = _loss_words(experiment, rule["epsilon"])
    return (
        f"{lead}; the rule needs P(best) of {report_numbers.percent(experiment.prob_best_threshold)} "
        f"and an expected loss below {epsilon}."
    )


def stopping_headline(experiment, arms, rows, verdict: dict, rule: dict) -> str:
    """The verdict in words, true to the experiment's state."""
    words = _verdict_words(experiment, arms, rows, verdict, rule)
    if experiment.status == Status.CONCLUDED:
        when = f" on {experiment.concluded_at:%Y-%m-%d}" if experiment.concluded_at else ""
        winner = next((a for a in arms if a.pk == experiment.winner_id), None)
        outcome = f"the winner is {arm_label(winner)}" if winner else "no winner was chosen"
        return f"Concluded{when}: {outcome}. At its last allocation: {words}"
    if experiment.status == Status.PAUSED:
        return f"Paused: serving no traffic. At its last allocation: {words}"
    if experiment.status == Status.DRAFT:
        return "Not started yet."
    winner = arms[verdict["winner"]] if verdict["winner"] is not None else None
    if verdict["stop"] and winner is not None and winner.guardrail_breached_at is None:
        return f"Ready to conclude: {words}"
    if verdict["reason"] == "continue":
        return f"Keep going: {words}"
    return words


def stopping_section(experiment, arms, rows, snapshot, post, stats, *, draws: int, seed: int) -> dict:
    """The stopping rule's verdict, its headline and the rule itself."""
    rule = stopping_rule(experiment=experiment, stats=stats)
    verdict = _verdict(experiment, arms, rows, snapshot, post, stats, rule, draws=draws, seed=seed)
    shown = loss_epsilon_shown(experiment)
    section = {
        "stop": verdict["stop"],
        "reason": verdict["reason"],
        "winner": arms[verdict["winner"]].key if verdict["winner"] is not None else None,
        "leader": arms[verdict["leader"]].key if verdict["leader"] is not None else None,
        "inconclusive": verdict["inconclusive"],
        "summary": stopping_headline(experiment, arms, rows, verdict, rule),
        "threshold": experiment.prob_best_threshold,
        "epsilon": rule["epsilon"],
        "epsilon_unit": shown["unit"],
        "epsilon_text": shown["text"],
        "min_purchases": int(rule.get("min_successes", 0)),
        "auto_conclude": experiment.auto_conclude,
    }
    return stopping_guardrail_checked(section, arms=arms)
