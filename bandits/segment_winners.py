"""Per-segment winners of a segmented experiment, and whether the segments disagree.

P(best) in each segment is exact (`bandits.exact.prob_best_exact` on the segment's partially pooled
Beta posteriors, `bandits.segments`). A segment has a winner when its leader's P(best) >= `level`;
the segments disagree when two of them have different winners, i.e. one arm for everyone would be
the wrong arm, with probability >= level, somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bandits._validation import check_probability
from bandits.exact import prob_best_exact
from bandits.segments import SegmentPosterior


@dataclass(frozen=True)
class SegmentWinners:
    """prob_best: (n_segments, n_arms); leader: (n_segments,) arm with the highest P(best);
    winner: per segment that leader if its P(best) >= level, else None; overall_*: the same for the
    arms' pooled posteriors (one arm for everyone)."""

    labels: tuple[str, ...]
    prob_best: np.ndarray
    leader: np.ndarray
    winner: tuple[int | None, ...]
    overall_prob_best: np.ndarray
    overall_winner: int | None
    disagree: bool
    level: float

    def summary(self, arm_names: Sequence[str] | None = None) -> str:
        """Plain words, e.g. "Segments disagree: B is best for history=new (97.3%); A for ..."."""
        names = (
            list(arm_names) if arm_names is not None else [f"Arm {k}" for k in range(self.prob_best.shape[1])]
        )
        clear = [(s, w) for s, w in enumerate(self.winner) if w is not None]
        if not clear:
            needed = percent(self.level)
            return f"No segment has a clear winner yet (it takes {needed} probability of being best)."
        by_arm: dict[int, list[str]] = {}
        for segment, arm in clear:
            by_arm.setdefault(arm, []).append(
                f"{self.labels[segment]} ({percent(float(self.prob_best[segment, arm]))})"
            )
        parts = [f"{names[arm]} is best for {', '.join(segments)}" for arm, segments in by_arm.items()]
        undecided = len(self.winner) - len(clear)
        tail = f"; {undecided} segment{'s' if undecided != 1 else ''} not yet clear" if undecided else ""
        if self.disagree:
            return f"Segments disagree: {'; '.join(parts)}{tail}. One arm for everyone loses somewhere."
        return f"Segments agree: {parts[0]}{tail}."


def segment_winners(post: SegmentPosterior, *, level: float = 0.95) -> SegmentWinners:
    """Exact per-segment P(best), winners at `level`, and whether segments disagree."""
    level = check_probability("level", level)
    prob = np.stack([prob_best_exact(post.segment(index)) for index in range(post.n_segments)])
    leader = np.argmax(prob, axis=1)
    winner = tuple(int(arm) if prob[segment, arm] >= level else None for segment, arm in enumerate(leader))
    overall = prob_best_exact(post.pooled)
    overall_leader = int(np.argmax(overall))
    return SegmentWinners(
        labels=post.labels or tuple(str(s) for s in range(post.n_segments)),
        prob_best=prob,
        leader=leader,
        winner=winner,
        overall_prob_best=overall,
        overall_winner=overall_leader if overall[overall_leader] >= level else None,
        disagree=len({arm for arm in winner if arm is not None}) >= 2,
        level=level,
    )


def percent(probability: float) -> str:
    """One decimal, rounded down, so 0.9996 reads "99.9%" and never an overconfident "100.0%"."""
    return f"{np.floor(probability * 1000 + 1e-9) / 10:.1f}%"
