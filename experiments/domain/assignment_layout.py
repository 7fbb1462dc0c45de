"""The layout of an experiment's unit hash space among its arms, and how it moves when weights change.

A unit's hash is a tick in ``[0, TICKS)``; the layout is a list of ``[end_tick, arm_id]`` segments in
order, each covering ``[previous end, end)``, the last ending at ``TICKS``. An arm's weight is its
measure (the ticks it covers) over ``TICKS``, exactly, which is the propensity serving logs.

Why a persisted layout rather than cumulative intervals of the weights: with three or more arms a
change of weights moves cumulative boundaries past units whose arm did not need to change (weights
(0.5, 0.5, 0) -> (0, 0.5, 0.5) would move every unit, while only half of them must). Here, when the
weights change (``layout_move``), the arms that shrink release measure from their own segments and
the arms that grow take it, so the share of units that change arm is exactly the total variation
distance between the old and new weights, and no other unit moves. Released pieces are taken next
to growing arms first (then from the end of the shrinking arm's last segments), and free pieces go
first to a growing arm beside them, so segments merge and fragments stay few.

Pure (no Django): the services write layouts, serving reads them.
"""

import math
from collections.abc import Sequence

TICKS = 2**32

Layout = list[list[int]]  # [[end_tick, arm_id], ...], ends strictly increasing, the last == TICKS


def ticks_quantise(weights: Sequence[float], *, total: int = TICKS) -> list[int]:
    """Integer ticks per arm summing to ``total``, by largest remainder; weights need not be normalised.

    A weight that is negative or not finite counts as 0; if none is positive the split is even.
    An arm of weight 0 gets no tick.
    """
    clean = [float(w) if math.isfinite(w) and w > 0 else 0.0 for w in weights]
    if sum(clean) <= 0:
        clean = [1.0] * len(clean)
    weight_sum = sum(clean)
    # Divide before scaling: total / weight_sum overflows to inf for subnormal weights.
    exact = [w / weight_sum * total for w in clean]
    ticks = [min(int(math.floor(e)), total) for e in exact]
    rest = total - sum(ticks)
    order = sorted((i for i in range(len(ticks)) if clean[i] > 0), key=lambda i: (ticks[i] - exact[i], i))
    for i in range(rest):
        ticks[order[i % len(order)]] += 1
    return ticks


def layout_contiguous(arm_ids: Sequence[int], ticks: Sequence[int]) -> Layout:
    """Arms side by side in the given order, each one segment of its ticks (none if 0)."""
    layout: Layout = []
    end = 0
    for arm_id, measure in zip(arm_ids, ticks, strict=True):
        if measure > 0:
            end += measure
            layout.append([end, arm_id])
    if end != TICKS:
        raise ValueError(f"ticks must sum to {TICKS}, got {end}")
    return layout


def layout_measures(layout: Layout) -> dict[int, int]:
    """Ticks per arm id (arms without a segment are absent)."""
    measures: dict[int, int] = {}
    start = 0
    for end, arm_id in layout:
        measures[arm_id] = measures.get(arm_id, 0) + end - start
        start = end
    return measures


def layout_is_valid(layout: object, arm_ids: Sequence[int]) -> bool:
    """A well-formed layout over these arms only (a stored one may predate the arms or be empty)."""
    if not isinstance(layout, list) or not layout:
        return False
    known = set(arm_ids)
    start = 0
    for segment in layout:
        if not (isinstance(segment, list | tuple) and len(segment) == 2):
            return False
        end, arm_id = segment
        if not (isinstance(end, int) and end > start and arm_id in known):
            return False
        start = end
    return start == TICKS


def layout_current(layout: object, arm_ids: Sequence[int], weights: Sequence[float]) -> Layout:
    """The stored layout if it fits these arms, else their contiguous layout of ``weights``.

    Experiments started before layouts were kept have an empty one: they are read as the arms side
    by side in their current weights, which is where their next move starts from.
    """
    if layout_is_valid(layout, arm_ids):
        return layout  # type: ignore[return-value]
    return layout_contiguous(arm_ids, ticks_quantise(weights))


def _trims(pieces: list[list], releasing: dict[int, int], growing: set[int]) -> tuple[list[int], list[int]]:
    """Ticks to free at the left and right end of each piece, ``releasing[arm]`` per shrinking arm.

    First the ends of its pieces that touch a growing arm, then from the end of its last piece
    backwards. ``pieces`` are ``[start, end, owner]``, adjacent owners differ.
    """
    trim_left = [0] * len(pieces)
    trim_right = [0] * len(pieces)
    left_over = dict(releasing)
    for i, (start, end, owner) in enumerate(pieces):
        if left_over.get(owner, 0) <= 0:
            continue
        if i + 1 < len(pieces) and pieces[i + 1][2] in growing:
            trim_right[i] = min(left_over[owner], end - start)
            left_over[owner] -= trim_right[i]
        if i > 0 and pieces[i - 1][2] in growing:
            trim_left[i] = min(left_over[owner], end - start - trim_right[i])
            left_over[owner] -= trim_left[i]
    for i in range(len(pieces) - 1, -1, -1):
        start, end, owner = pieces[i]
        more = min(left_over.get(owner, 0), end - start - trim_left[i] - trim_right[i])
        trim_right[i] += more
        left_over[owner] = left_over.get(owner, 0) - more
    if any(v > 0 for v in left_over.values()):
        raise ValueError("an arm cannot release more ticks than it holds")
    return trim_left, trim_right


def _release(pieces: list[list], releasing: dict[int, int], growing: set[int]) -> list[list]:
    """The pieces with the released ticks split off as free pieces (owner None)."""
    trim_left, trim_right = _trims(pieces, releasing, growing)
    split: list[list] = []
    for (start, end, owner), left, right in zip(pieces, trim_left, trim_right, strict=True):
        split += [[start, start + left, None], [start + left, end - right, owner], [end - right, end, None]]
    return [piece for piece in split if piece[1] > piece[0]]


def _free_runs(pieces: list[list]) -> list[list]:
    """Maximal runs of free pieces: ``[start, end, owner on the left, owner on the right]``."""
    runs: list[list] = []
    for i, (start, end, owner) in enumerate(pieces):
        if owner is not None:
            continue
        if runs and runs[-1][1] == start:
            runs[-1][1] = end
        else:
            runs.append([start, end, pieces[i - 1][2] if i > 0 else None, None])
        runs[-1][3] = pieces[i + 1][2] if i + 1 < len(pieces) else None
    return runs


def _fill(pieces: list[list], needs: dict[int, int]) -> list[list]:
    """The pieces with the free runs given to the growing arms (``needs[arm]`` ticks each).

    A free run goes first to a growing arm beside it (so the segments merge), then what is left
    to the arm that still needs the most.
    """
    filled: list[list] = [p for p in pieces if p[2] is not None]
    middles = []
    for start, end, left, right in _free_runs(pieces):
        from_left = min(needs.get(left, 0), end - start)
        if from_left:
            filled.append([start, start + from_left, left])
            needs[left] -= from_left
        from_right = min(needs.get(right, 0), end - start - from_left)
        if from_right:
            filled.append([end - from_right, end, right])
            needs[right] -= from_right
        middles.append((start + from_left, end - from_right))
    for at, stop in middles:
        while at < stop:
            arm_id = max((a for a in needs if needs[a] > 0), key=lambda a: (needs[a], -a))
            take = min(needs[arm_id], stop - at)
            filled.append([at, at + take, arm_id])
            needs[arm_id] -= take
            at += take
    return sorted(filled)


def layout_move(layout: Layout, targets: dict[int, int]) -> Layout:
    """The layout with ``targets[arm_id]`` ticks per arm (summing to ``TICKS``), moving the fewest units.

    Exactly ``sum(max(0, target - current))`` ticks change arm (the total variation distance times
    ``TICKS``); every other tick keeps its arm. Arms absent from ``targets`` go to 0.
    """
    if sum(targets.values()) != TICKS or any(t < 0 for t in targets.values()):
        raise ValueError(f"targets must be >= 0 and sum to {TICKS}")
    current = layout_measures(layout)
    delta = {a: targets.get(a, 0) - current.get(a, 0) for a in set(current) | set(targets)}
    growing = {a for a, d in delta.items() if d > 0}
    pieces: list[list] = []
    start = 0
    for end, arm_id in layout:
        pieces.append([start, end, arm_id])
        start = end
    pieces = _release(pieces, {a: -d for a, d in delta.items() if d < 0}, growing)
    pieces = _fill(pieces, {a: delta[a] for a in growing})
    moved: Layout = []
    for _start, end, arm_id in pieces:
        if moved and moved[-1][1] == arm_id:
            moved[-1][0] = end
        else:
            moved.append([end, arm_id])
    return moved
