"""Deterministic assignment: a unit's hash against cumulative arm weights."""

import bisect
import hashlib

import numpy as np

_SCALE = float(2**64)


def unit_uniform(unit: str, experiment_key: str, allocation_version: int) -> float:
    """A uniform number in [0, 1) fixed by (unit, experiment, allocation version)."""
    digest = hashlib.blake2b(f"{unit}|{experiment_key}|{allocation_version}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def arm_index_pick(u: float, cumulative: np.ndarray) -> int:
    """Index of the arm whose cumulative-weight interval holds ``u``; cumulative ends at 1."""
    # bisect_right is searchsorted(side="right") without numpy's call overhead for a few arms.
    index = bisect.bisect_right(cumulative, u)
    return min(index, len(cumulative) - 1)
