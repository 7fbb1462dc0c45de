"""Sensitivity of team-draft interleaving vs an even A/B split: decisions until a correct stop.

Run from the repository root (bench/ is a plain directory, imported as a namespace package):
    .venv/bin/python -m bench.bench_interleaving            # full measurement, about 80 s CPU
    .venv/bin/python -m bench.bench_interleaving --quick    # smoke run
    .venv/bin/python -m bench.bench_interleaving --speed    # µs per team-draft call
Results and the model in words: bench/notes/2026-12-07-interleaving.md.

The world. A request is a pool of POOL candidate items with quality q ~ N(0, 1) and, per shopper, a
click propensity u ~ N(0, shopper_sd); attractiveness attr = sigmoid(c + q + u), with c set so that
variant A's CTR is TARGET_CTR. Variant A ranks the pool by q + SIGMA_A e_A, variant B by
q + sigma_B e_B (e ~ N(0, 1), independent), and the slot shows K items. sigma_B is set by
bisection so that CTR_A = (1 + gap) CTR_B exactly on the world's N_REQUESTS requests (common random
numbers), where CTR is the share of decisions with at least one click. Click models over the shown
list (position r = 0..K-1):
  pbm:     independent clicks, P(click at r) = attr / (r + 1) (position-based model)
  cascade: the shopper scans top-down and clicks the first item that attracts her, then leaves
           (Craswell, Zoeten, Taylor and Ramsey 2008), so at most one click
The world is the finite set of N_REQUESTS requests, each drawn uniformly: the A/B click rates and the
interleaving outcome probabilities (A wins, B wins, tie; team draft by `bandits.interleaving`, a
coin sequence and its complement per request, exact by convolution over positions) are exact
means over it, so each method's decisions are i.i.d. draws and the simulation draws them in batches.

The rule, the same for both: after every batch of decisions (the same batch for both, 1 /
LOOKS_PER_HORIZON of the A/B fixed horizon) stop when P(better) >= threshold, from the
A/B arms' Beta(1 + clicks, 1 + no-clicks) posteriors (normal approximation of the difference) or
the interleaving preference posterior (`bandits.preference`, exact). Reported at threshold 0.95 and
at the threshold where each method is right 95% of the time (interpolated); and for the always-valid
tests (`msprt_two_proportions`, `preference_sequential_test`, alpha 0.05, tau the true effect).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

from bandits.exact import prob_best_exact_two
from bandits.interleaving import team_draft_interleave, team_draft_multileave
from bandits.posteriors import BetaBernoulli
from bandits.preference import preference_sequential_test
from bandits.sequential import msprt_two_proportions

POOL, K = 50, 10
TARGET_CTR = 0.05  # variant A's share of decisions with a click, in every world
SIGMA_A = 1.0
N_REQUESTS = 100_000
LOOKS_PER_HORIZON = 50  # looks within the A/B fixed horizon; the batch is the same for both methods
MAX_HORIZONS = 20  # cap: 20 A/B fixed horizons
THRESHOLDS = np.concatenate([np.linspace(0.90, 0.99, 19), [0.995, 0.998, 0.999, 0.9995, 0.9999]])
NOTE_DIR = Path(__file__).resolve().parent / "notes"


@dataclass(frozen=True)
class Requests:
    """The world's requests: attr (n, POOL) attractiveness; score_a, quality, noise_b (n, POOL)."""

    attr: np.ndarray
    score_a: np.ndarray
    quality: np.ndarray
    noise_b: np.ndarray
    base_logit: float


def requests_draw(n: int, model: str, shopper_sd: float, rng: np.random.Generator) -> Requests:
    """A world whose variant A has CTR_A = TARGET_CTR (the base logit set by bisection)."""
    quality = rng.normal(size=(n, POOL))
    shopper = rng.normal(0.0, shopper_sd, size=(n, 1))
    score_a = quality + SIGMA_A * rng.normal(size=(n, POOL))
    logit_a = np.take_along_axis(quality + shopper, top_k(score_a), axis=1)
    low, high = -15.0, 0.0
    for _ in range(40):
        mid = (low + high) / 2.0
        low, high = (low, mid) if ctr(special.expit(mid + logit_a), model) > TARGET_CTR else (mid, high)
    base = (low + high) / 2.0
    attr = special.expit(base + quality + shopper)
    return Requests(
        attr=attr, score_a=score_a, quality=quality, noise_b=rng.normal(size=(n, POOL)), base_logit=base
    )


def top_k(scores: np.ndarray) -> np.ndarray:
    """(n, K) item indices, best first."""
    part = np.argpartition(-scores, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def click_probs(attr_shown: np.ndarray, model: str) -> np.ndarray:
    """(n, K) P(click at position r) for independent clicks (pbm) or P(first and only click at r)."""
    if model == "pbm":
        return attr_shown / np.arange(1, K + 1)
    survive = np.cumprod(1.0 - attr_shown, axis=1)
    return attr_shown * np.concatenate([np.ones((len(attr_shown), 1)), survive[:, :-1]], axis=1)


def ctr_each(attr_shown: np.ndarray, model: str) -> np.ndarray:
    """(n,) P(at least one click) of each shown list."""
    if model == "pbm":
        return 1.0 - np.prod(1.0 - click_probs(attr_shown, model), axis=1)
    return 1.0 - np.prod(1.0 - attr_shown, axis=1)


def ctr(attr_shown: np.ndarray, model: str) -> float:
    return float(np.mean(ctr_each(attr_shown, model)))


def sigma_b_for_gap(world: Requests, model: str, gap: float) -> tuple[float, float, float]:
    """sigma_B with CTR_A = (1 + gap) CTR_B on the world, by bisection; returns (sigma_B, CTR_A, CTR_B)."""
    ctr_a = ctr(np.take_along_axis(world.attr, top_k(world.score_a), axis=1), model)
    target = ctr_a / (1.0 + gap)
    low, high = SIGMA_A, 20.0
    for _ in range(30):
        mid = (low + high) / 2.0
        shown = np.take_along_axis(world.attr, top_k(world.quality + mid * world.noise_b), axis=1)
        low, high = (mid, high) if ctr(shown, model) > target else (low, mid)
    sigma_b = (low + high) / 2.0
    ctr_b = ctr(np.take_along_axis(world.attr, top_k(world.quality + sigma_b * world.noise_b), axis=1), model)
    return sigma_b, ctr_a, ctr_b


def interleaved_outcomes(world: Requests, model: str, sigma_b: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) exact P(A wins), P(B wins), P(tie) of each request's decision.

    Each request is interleaved twice by `team_draft_interleave` with the same coins, once as (A, B)
    and once as (B, A): the second is the first's complementary coin sequence, and averaging the pair
    (antithetic coins) removes most of the coin noise from the world's finite set of requests.
    """
    rank_a = np.argsort(-world.score_a, axis=1)[:, : 3 * K]
    rank_b = np.argsort(-(world.quality + sigma_b * world.noise_b), axis=1)[:, : 3 * K]
    seeds = rng.integers(0, 2**63, len(rank_a))
    per_request = np.zeros((len(rank_a), 3))
    for swapped in (False, True):
        shown = np.empty((len(rank_a), K), dtype=np.int64)
        teams = np.empty((len(rank_a), K), dtype=np.int8)
        for row, (a, b) in enumerate(zip(rank_a.tolist(), rank_b.tolist(), strict=True)):
            coins = np.random.default_rng(seeds[row])
            result = (
                team_draft_interleave(b, a, K, coins) if swapped else team_draft_interleave(a, b, K, coins)
            )
            shown[row], teams[row] = result.items, (1 - result.teams) if swapped else result.teams
        per_request += outcome_probs(
            click_probs(np.take_along_axis(world.attr, shown, axis=1), model), teams, model
        )
    return per_request / 2.0


def outcome_probs(probs: np.ndarray, teams: np.ndarray, model: str) -> np.ndarray:
    """(n, 3) P(A wins), P(B wins), P(tie) from the click probabilities (n, K) of click_probs."""
    if model == "cascade":
        win_a = np.sum(probs * (teams == 0), axis=1)
        win_b = np.sum(probs * (teams == 1), axis=1)
        return np.stack([win_a, win_b, 1.0 - win_a - win_b], axis=1)
    # distribution of (A clicks - B clicks) by convolution over positions, offset K
    dist = np.zeros((len(probs), 2 * K + 1))
    dist[:, K] = 1.0
    for r in range(K):
        p = probs[:, r : r + 1]
        moved = np.where(teams[:, r : r + 1] == 0, np.roll(dist, 1, axis=1), np.roll(dist, -1, axis=1))
        dist = dist * (1.0 - p) + moved * p
    return np.stack([dist[:, K + 1 :].sum(axis=1), dist[:, :K].sum(axis=1), dist[:, K]], axis=1)


def world_ratio_rel_se(per_request: np.ndarray, world: Requests, model: str, sigma_b: float) -> float:
    """Relative standard error of the decisions ratio due to the world's finite set of requests.

    Both methods' decisions scale as 1 / effect^2, so the ratio scales as R^2 with
    R = mean(P(A wins) - P(B wins)) / mean(CTR_A - CTR_B) over requests; its ratio-estimator standard
    error (paired by request) doubles in relative terms.
    """
    d = per_request[:, 0] - per_request[:, 1]
    shown_a = np.take_along_axis(world.attr, top_k(world.score_a), axis=1)
    shown_b = np.take_along_axis(world.attr, top_k(world.quality + sigma_b * world.noise_b), axis=1)
    g = ctr_each(shown_a, model) - ctr_each(shown_b, model)
    ratio = d.mean() / g.mean()
    se = np.std(d - ratio * g) / np.sqrt(len(d)) / g.mean()
    return float(2.0 * se / ratio)


@dataclass(frozen=True)
class Paths:
    """Per run and look (runs, looks): P(A better), and the always-valid test's rejection and sign."""

    prob_a: np.ndarray
    reject: np.ndarray
    a_ahead: np.ndarray
    batch: int


def ab_paths(
    ctr_a: float, ctr_b: float, batch: int, looks: int, runs: int, rng: np.random.Generator
) -> Paths:
    n_a = np.cumsum(rng.binomial(batch, 0.5, size=(runs, looks)), axis=1)
    n_b = np.arange(1, looks + 1) * batch - n_a
    s_a = np.cumsum(rng.binomial(np.diff(n_a, prepend=0, axis=1), ctr_a), axis=1)
    s_b = np.cumsum(rng.binomial(np.diff(n_b, prepend=0, axis=1), ctr_b), axis=1)
    prob_a = ab_prob_a_better(s_a, n_a, s_b, n_b)
    test = msprt_two_proportions(s_a, n_a, s_b, n_b, tau=ctr_a - ctr_b)
    return Paths(prob_a=prob_a, reject=test.reject, a_ahead=test.difference < 0, batch=batch)


def ab_prob_a_better(s_a: np.ndarray, n_a: np.ndarray, s_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """P(theta_A > theta_B) under Beta(1 + s, 1 + n - s) arms, normal approximation of the difference."""
    mean_a, mean_b = (s_a + 1) / (n_a + 2), (s_b + 1) / (n_b + 2)
    var = mean_a * (1 - mean_a) / (n_a + 3) + mean_b * (1 - mean_b) / (n_b + 3)
    return np.asarray(special.ndtr((mean_a - mean_b) / np.sqrt(var)))


def ab_approximation_error(batch: int, ctr_a: float, ctr_b: float, rng: np.random.Generator) -> float:
    """Largest |normal approximation - exact quadrature| of P(A better) over 10 random A/B counts
    drawn at the first 40 looks, where the approximation is worst (fewest clicks)."""
    worst = 0.0
    for n_total in rng.choice(np.arange(1, 41) * batch, 10):
        n_a = int(rng.binomial(n_total, 0.5))
        s_a, s_b = int(rng.binomial(n_a, ctr_a)), int(rng.binomial(n_total - n_a, ctr_b))
        exact = float(prob_best_exact_two(BetaBernoulli.from_counts([s_a, s_b], [n_a, n_total - n_a]))[0])
        approx = float(ab_prob_a_better(*(np.array(float(x)) for x in (s_a, n_a, s_b, n_total - n_a))))
        worst = max(worst, abs(approx - exact))
    return worst


def interleaving_paths(
    outcome: np.ndarray, batch: int, looks: int, runs: int, rng: np.random.Generator
) -> Paths:
    counts = np.cumsum(rng.multinomial(batch, outcome, size=(runs, looks)), axis=1)
    wins_a, wins_b = counts[..., 0], counts[..., 1]
    prob_a = special.betainc(1.0 + wins_b, 1.0 + wins_a, 0.5)
    share_offset = outcome[0] / (outcome[0] + outcome[1]) - 0.5
    test = preference_sequential_test(wins_a, wins_b, tau=min(max(share_offset, 1e-3), 0.49), interval=False)
    return Paths(prob_a=prob_a, reject=test.reject, a_ahead=wins_a > wins_b, batch=batch)


def first_stop(stopped: np.ndarray) -> np.ndarray:
    """(..., runs) index of the first look where `stopped`, or n_looks when never."""
    return np.where(stopped.any(axis=-1), np.argmax(stopped, axis=-1), stopped.shape[-1])


@dataclass(frozen=True)
class StopStats:
    decisions: np.ndarray  # (..., runs) decisions at the stop (the cap when never stopped)
    correct: np.ndarray  # (..., runs) stopped and picked A
    stopped: np.ndarray  # (..., runs) stopped before the cap


def stop_stats(paths: Paths, thresholds: np.ndarray) -> StopStats:
    looks = paths.prob_a.shape[1]
    confident = np.maximum(paths.prob_a, 1.0 - paths.prob_a)[None] >= thresholds[:, None, None]
    stop = first_stop(confident)
    at = np.minimum(stop, looks - 1)
    picked_a = np.take_along_axis(paths.prob_a, at.T, axis=1).T >= 0.5
    return StopStats(
        decisions=np.minimum(stop + 1, looks) * paths.batch,
        correct=(stop < looks) & picked_a,
        stopped=stop < looks,
    )


def sprt_stats(paths: Paths) -> StopStats:
    looks = paths.prob_a.shape[1]
    stop = first_stop(paths.reject)
    at = np.minimum(stop, looks - 1)
    picked_a = np.take_along_axis(paths.a_ahead, at[:, None], axis=1)[:, 0]
    return StopStats(
        decisions=np.minimum(stop + 1, looks) * paths.batch,
        correct=(stop < looks) & picked_a,
        stopped=stop < looks,
    )


def matched_decisions(stats: StopStats, target: float = 0.95) -> float:
    """Mean decisions at the threshold where the share of correct stops reaches `target` (interpolated
    linearly between the swept thresholds); NaN when no swept threshold reaches it."""
    correct = stats.correct.mean(axis=-1)
    mean = stats.decisions.mean(axis=-1)
    above = np.nonzero(correct >= target)[0]
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(mean[0])
    w = (target - correct[i - 1]) / (correct[i] - correct[i - 1])
    return float(mean[i - 1] + w * (mean[i] - mean[i - 1]))


def ratio_with_se(
    ab: StopStats, il: StopStats, rng: np.random.Generator, boot: int = 200
) -> dict[str, float]:
    """Means at threshold 0.95 and matched 95% correct, ratios A/B / interleaving, bootstrap SEs over runs."""
    i95 = int(np.argmin(np.abs(THRESHOLDS - 0.95)))
    runs = ab.decisions.shape[-1]

    def summary(index_ab: np.ndarray, index_il: np.ndarray) -> tuple[float, float, float]:
        take = lambda s, idx: StopStats(s.decisions[..., idx], s.correct[..., idx], s.stopped[..., idx])  # noqa: E731
        a, b = take(ab, index_ab), take(il, index_il)
        same = a.decisions[i95].mean() / b.decisions[i95].mean()
        return same, matched_decisions(a), matched_decisions(b)

    full = np.arange(runs)
    same, matched_ab, matched_il = summary(full, full)
    draws = np.array([summary(rng.integers(0, runs, runs), rng.integers(0, runs, runs)) for _ in range(boot)])
    matched_ratio = draws[:, 1] / draws[:, 2]
    return {
        "ab_mean_095": float(ab.decisions[i95].mean()),
        "ab_se_095": float(ab.decisions[i95].std() / np.sqrt(runs)),
        "ab_correct_095": float(ab.correct[i95].mean()),
        "il_mean_095": float(il.decisions[i95].mean()),
        "il_se_095": float(il.decisions[i95].std() / np.sqrt(runs)),
        "il_correct_095": float(il.correct[i95].mean()),
        "ratio_095": float(same),
        "ratio_095_se": float(np.nanstd(draws[:, 0])),
        "ab_matched": matched_ab,
        "il_matched": matched_il,
        "ratio_matched": matched_ab / matched_il,
        "ratio_matched_se": float(np.nanstd(matched_ratio)),
        "ab_unstopped": float(1.0 - ab.stopped[i95].mean()),
        "il_unstopped": float(1.0 - il.stopped[i95].mean()),
    }


def cell(world: Requests, model: str, gap: float, runs: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    sigma_b, ctr_a, ctr_b = sigma_b_for_gap(world, model, gap)
    per_request = interleaved_outcomes(world, model, sigma_b, rng)
    outcome = per_request.mean(axis=0)
    # the A/B fixed horizon (one-sided z-test at 95%, 50% power, i.e. the point estimate's sign is
    # right 95% of the time) sets the look schedule: the same batch of decisions for both methods
    horizon = 2 * 1.645**2 * (ctr_a * (1 - ctr_a) + ctr_b * (1 - ctr_b)) / (ctr_a - ctr_b) ** 2
    batch = max(50, int(round(horizon / LOOKS_PER_HORIZON)))
    looks = MAX_HORIZONS * LOOKS_PER_HORIZON
    ab = ab_paths(ctr_a, ctr_b, batch, looks, runs, rng)
    il = interleaving_paths(outcome, batch, looks, runs, rng)
    approx_error = ab_approximation_error(batch, ctr_a, ctr_b, rng)
    row: dict[str, float] = {"gap": gap, "sigma_b": sigma_b, "ctr_a": ctr_a, "ctr_b": ctr_b}
    row |= {
        "base_logit": world.base_logit,
        "batch": batch,
        "cap": batch * looks,
        "approx_error": approx_error,
        "world_ratio_rel_se": world_ratio_rel_se(per_request, world, model, sigma_b),
    }
    row |= {"p_a_wins": outcome[0], "p_b_wins": outcome[1], "p_tie": outcome[2]}
    row |= ratio_with_se(stop_stats(ab, THRESHOLDS), stop_stats(il, THRESHOLDS), rng)
    sprt_ab, sprt_il = sprt_stats(ab), sprt_stats(il)
    row |= {
        "sprt_ab_mean": float(sprt_ab.decisions.mean()),
        "sprt_ab_correct": float(sprt_ab.correct.mean()),
        "sprt_il_mean": float(sprt_il.decisions.mean()),
        "sprt_il_correct": float(sprt_il.correct.mean()),
        "sprt_ratio": float(sprt_ab.decisions.mean() / sprt_il.decisions.mean()),
    }
    return row


def ratio_total_se(row: dict[str, float | str]) -> float:
    """Standard error of the ratio at 0.95: Monte Carlo runs and the world's finite requests together."""
    ratio = float(row["ratio_095"])
    return ratio * float(np.hypot(float(row["ratio_095_se"]) / ratio, float(row["world_ratio_rel_se"])))


def figure(rows: list[dict[str, float | str]], path: Path) -> Path:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Decisions until the stop (P(better) ≥ 0.95)",
            "A/B ÷ interleaving, mean decisions (± 2 SE)",
        ),
    )
    colours = {"pbm": "#1f77b4", "cascade": "#d62728", "pbm, shoppers vary": "#2ca02c"}
    for world in dict.fromkeys(str(r["world"]) for r in rows):
        sub = [r for r in rows if r["world"] == world]
        gaps = [100 * float(r["gap"]) for r in sub]
        colour = colours.get(world, "#555")
        for key, dash, label in (("ab", "dash", "A/B"), ("il", "solid", "interleaving")):
            fig.add_trace(
                go.Scatter(
                    x=gaps,
                    y=[r[f"{key}_mean_095"] for r in sub],
                    error_y={"array": [2 * float(r[f"{key}_se_095"]) for r in sub]},
                    name=f"{label}, {world}",
                    line={"color": colour, "dash": dash},
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=gaps,
                y=[r["ratio_095"] for r in sub],
                error_y={"array": [2 * ratio_total_se(r) for r in sub]},
                name=f"ratio, {world}",
                line={"color": colour},
            ),
            row=1,
            col=2,
        )
    fig.add_hline(y=1.0, line={"color": "#999", "dash": "dot"}, row=1, col=2)  # 1 = no gain
    fig.update_xaxes(title_text="true gap, relative CTR (%)", tickvals=[2, 5, 10])
    fig.update_yaxes(title_text="decisions (log scale)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="ratio of mean decisions", rangemode="tozero", row=1, col=2)
    fig.update_layout(width=1100, height=460, template="plotly_white")
    try:
        fig.write_image(str(path.with_suffix(".png")))
        return path.with_suffix(".png")
    except (ValueError, ImportError, RuntimeError):  # no kaleido: an interactive file instead
        fig.write_html(str(path.with_suffix(".html")), include_plotlyjs="cdn")
        return path.with_suffix(".html")


def speed() -> None:
    """µs per team-draft call at k = 10 from rankings of 50 (two and three variants, string ids)."""
    import time
    import timeit

    rng = np.random.default_rng(0)
    rankings = [[f"p-{i}" for i in rng.permutation(200)[:50]] for _ in range(3)]
    calls = {
        "two variants": lambda: team_draft_interleave(rankings[0], rankings[1], K, rng),
        "three variants": lambda: team_draft_multileave(rankings, K, rng),
    }
    for name, call in calls.items():
        best = min(timeit.repeat(call, number=20_000, repeat=7, timer=time.process_time)) / 20_000
        print(f"{name}: {best * 1e6:.1f} µs CPU per call (best of 7 x 20,000)")


def markdown_table(rows: list[dict[str, float | str]]) -> str:
    """The note's tables: decisions and correct share at 0.95, the ratios, the always-valid tests."""

    def n(value: float | str) -> str:
        return "–" if value != value else f"{float(value):,.0f}"  # NaN: no swept threshold reached 95%

    def pct(value: float | str, digits: int = 1) -> str:
        return f"{float(value):.{digits}%}"

    lines = [
        "| world | gap | P(A wins) / P(B wins) / tie | A/B decisions (correct) "
        "| interleaving decisions (correct) | ratio at 0.95 | ratio at 95% correct |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        outcome = f"{pct(r['p_a_wins'], 2)} / {pct(r['p_b_wins'], 2)} / {pct(r['p_tie'])}"
        ab = f"{n(r['ab_mean_095'])} ± {n(r['ab_se_095'])} ({pct(r['ab_correct_095'])})"
        il = f"{n(r['il_mean_095'])} ± {n(r['il_se_095'])} ({pct(r['il_correct_095'])})"
        same = f"{float(r['ratio_095']):.2f} ± {ratio_total_se(r):.2f}"
        matched = f"{float(r['ratio_matched']):.2f} ± {float(r['ratio_matched_se']):.2f}"
        lines.append(f"| {r['world']} | {pct(r['gap'], 0)} | {outcome} | {ab} | {il} | {same} | {matched} |")
    lines += [
        "",
        "| world | gap | mSPRT A/B decisions (correct) | mixture SPRT interleaving (correct) | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ab = f"{n(r['sprt_ab_mean'])} ({pct(r['sprt_ab_correct'])})"
        il = f"{n(r['sprt_il_mean'])} ({pct(r['sprt_il_correct'])})"
        lines.append(f"| {r['world']} | {pct(r['gap'], 0)} | {ab} | {il} | {float(r['sprt_ratio']):.2f} |")
    return "\n".join(lines)


WORLDS = {"pbm": ("pbm", 0.0), "cascade": ("cascade", 0.0), "pbm, shoppers vary": ("pbm", 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small world and few runs (a smoke run)")
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", action="store_true", help="only time team_draft_interleave")
    args = parser.parse_args()
    if args.speed:
        speed()
        return
    n_requests, runs = (5_000, 100) if args.quick else (N_REQUESTS, args.runs)
    rows: list[dict[str, float | str]] = []
    for w, (name, (model, shopper_sd)) in enumerate(WORLDS.items()):
        world = requests_draw(n_requests, model, shopper_sd, np.random.default_rng(args.seed + w))
        for g, gap in enumerate((0.02, 0.05, 0.10)):
            row = cell(world, model, gap, runs, seed=1_000 * args.seed + 10 * w + g)
            rows.append({"world": name} | row)
            print(json.dumps(rows[-1]), flush=True)
    print(markdown_table(rows))
    if not args.quick:
        print("figure:", figure(rows, NOTE_DIR / "2026-12-07-interleaving"))


if __name__ == "__main__":
    main()
