"""Deterministic assignment: a unit's hash, salted per experiment, against the experiment's layout."""

import bisect
import hashlib

_SCALE = float(2**64)


def unit_uniform(unit: str, namespace: str, salt: str | int) -> float:
    """A uniform number in [0, 1) fixed by (unit, namespace, salt); the global holdout uses it."""
    digest = hashlib.blake2b(f"{unit}|{namespace}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def unit_tick(unit: str, experiment_key: str, salt: str) -> int:
    """The unit's position in the experiment's hash space, an int in [0, 2**32) (``assignment_layout.TICKS``).

    Fixed by (unit, experiment, the experiment's salt) and nothing else, so a unit keeps its
    position while the weights move; only a new salt (re-randomize) draws it again.
    """
    return int.from_bytes(hashlib.blake2b(f"{unit}|{experiment_key}|{salt}".encode(), digest_size=4).digest())


def segment_index_pick(tick: int, segment_ends: list[int]) -> int:
    """Index of the layout segment holding ``tick``; ``segment_ends`` is increasing and ends at 2**32."""
    return bisect.bisect_right(segment_ends, tick)
