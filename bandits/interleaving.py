"""Team-draft interleaving of two rankings (and multileaving of more) into one slot, and its credit.

Team draft (Radlinski, Kurup and Joachims 2008, "How does clickthrough data reflect retrieval
quality?", CIKM, algorithm 2): in each round a fair coin says which variant picks first; each variant
then adds its highest-ranked item not already on the list, and that item joins its team. Rounds
repeat until the list has k items. Team-draft multileaving (Schuth, Sietsma, Whiteson, Lefortier and
de Rijke 2014, "Multileaved comparisons for fast online evaluation", CIKM) is the same with a uniform
random picking order of all n variants per round; for n = 2 that is the coin.

Properties a shopper and an analyst can rely on:
- no duplicate items, and exactly k items whenever the rankings hold k distinct items between them
  (otherwise all of them): the slot keeps its length;
- each team's expected number of items among the top j positions is the same (the coin is fair), so
  position bias favours no variant;
- with identical rankings every position is an even coin between the teams, so the credit is a fair
  coin flip per click: P(A wins) = P(B wins) for any click model (no variant preferred when they agree).
A variant whose ranking runs out simply stops picking; the others fill the slot.

Credit (same paper, section 4): each clicked (or carted, purchased) position credits its item's team;
the team with more credited positions wins the decision, equal counts are a tie.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from bandits.errors import BanditError

Item = TypeVar("Item", bound=Hashable)
TIE = -1  # `preferred_team` for a decision without a unique winner
_MAX_TEAMS = 127  # teams are int8
_COIN_BITS = 62  # coins drawn at once for two teams: one random integer covers 62 rounds


@dataclass(frozen=True)
class Interleaving(Generic[Item]):
    """One decision's list: items (k,) in display order, teams (k,) int8, the variant index of each item."""

    items: tuple[Item, ...]
    teams: np.ndarray


def team_draft_interleave(
    ranking_a: Sequence[Item], ranking_b: Sequence[Item], k: int, rng: np.random.Generator
) -> Interleaving[Item]:
    """Team-draft interleaving of two rankings (best first) into k items; team 0 is A, team 1 is B."""
    return team_draft_multileave((ranking_a, ranking_b), k, rng)


def team_draft_multileave(
    rankings: Sequence[Sequence[Item]], k: int, rng: np.random.Generator
) -> Interleaving[Item]:
    """Team-draft multileaving of n >= 2 rankings (best first) into k items; teams are ranking indices.

    Items only need to be hashable (ids of any type). Runs in O(k + items skipped) Python steps with one
    random draw for two rankings (one per round for more), so it suits the request path.
    """
    n_teams = len(rankings)
    if not 2 <= n_teams <= _MAX_TEAMS:
        raise BanditError(f"need between 2 and {_MAX_TEAMS} rankings to interleave, got {n_teams}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise BanditError(f"k (the slot's length) must be an integer >= 1, got {k!r}")
    items: list[Item] = []
    teams: list[int] = []
    seen: set[Item] = set()
    cursors = [0] * n_teams
    orders = _round_orders(n_teams, rng)
    while len(items) < k:
        picked = False
        for team in next(orders):
            ranking = rankings[team]
            cursor = cursors[team]
            while cursor < len(ranking) and ranking[cursor] in seen:
                cursor += 1
            if cursor == len(ranking):
                cursors[team] = cursor
                continue
            item = ranking[cursor]
            cursors[team] = cursor + 1
            seen.add(item)
            items.append(item)
            teams.append(team)
            picked = True
            if len(items) == k:
                break
        if not picked:
            break
    return Interleaving(items=tuple(items), teams=np.array(teams, dtype=np.int8))


def _round_orders(n_teams: int, rng: np.random.Generator) -> Iterator[Sequence[int]]:
    """Each round's picking order: a fair coin for two teams, a uniform permutation for more."""
    if n_teams == 2:
        while True:
            bits = int(rng.integers(0, 1 << _COIN_BITS))
            for _ in range(_COIN_BITS):
                yield (1, 0) if bits & 1 else (0, 1)
                bits >>= 1
    while True:
        yield rng.permutation(n_teams).tolist()


def team_credit(teams: np.ndarray, clicked: np.ndarray, n_teams: int = 2) -> np.ndarray:
    """Credited positions per team: teams (..., k) int, clicked (..., k) bool -> (..., n_teams) int64.

    Leading axes (decisions, simulated runs) are carried along.
    """
    teams = np.asarray(teams)
    clicked = np.asarray(clicked, dtype=bool)
    if teams.shape != clicked.shape:
        raise BanditError(f"teams and clicked must have one shape, got {teams.shape} and {clicked.shape}")
    if teams.size and (teams.min() < 0 or teams.max() >= n_teams):
        raise BanditError(f"teams must be in 0..{n_teams - 1}, got {np.unique(teams)}")
    members = teams[..., None] == np.arange(n_teams)
    return np.asarray((members & clicked[..., None]).sum(axis=-2), dtype=np.int64)


def preferred_team(wins: np.ndarray) -> np.ndarray:
    """The decision's preference: wins (..., n_teams) -> (...,) int8, the team with the most credit, or
    TIE (-1) when the largest credit is shared (including no clicks at all)."""
    wins = np.asarray(wins)
    best = wins.max(axis=-1, keepdims=True)
    leaders = wins == best
    unique = leaders.sum(axis=-1) == 1
    return np.where(unique, np.argmax(leaders, axis=-1), TIE).astype(np.int8)


@dataclass(frozen=True)
class DecisionCredit:
    """One decision's outcome: wins (n_teams,) credited positions per team; preferred: team or TIE."""

    wins: tuple[int, ...]
    preferred: int


def decision_credit(teams: np.ndarray, positions: Iterable[int], n_teams: int = 2) -> DecisionCredit:
    """Credit one decision from the 0-based positions of its clicked (or purchased) items.

    A position listed twice (a double click, a reload) counts once, so one item cannot win a decision
    on its own repeated events.
    """
    teams = np.asarray(teams)
    if teams.ndim != 1:
        raise BanditError(f"teams must be one decision's (k,) array, got shape {teams.shape}")
    clicked = np.zeros(teams.shape, dtype=bool)
    for position in set(positions):
        if not 0 <= position < len(teams):
            raise BanditError(f"position {position} is outside the slot's {len(teams)} items (0-based)")
        clicked[position] = True
    wins = team_credit(teams, clicked, n_teams)
    return DecisionCredit(wins=tuple(int(w) for w in wins), preferred=int(preferred_team(wins)))
