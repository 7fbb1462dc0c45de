"""One way to get a random Generator: passed in, or built from a seed; never the global np.random."""

from __future__ import annotations

import numpy as np

from bandits.errors import BanditError


def generator_from(seed: int | None = None, rng: np.random.Generator | None = None) -> np.random.Generator:
    """`rng` if given, else `np.random.default_rng(seed)`; passing both is ambiguous and refused."""
    if rng is not None:
        if seed is not None:
            raise BanditError("pass either seed or rng, not both")
        if not isinstance(rng, np.random.Generator):
            raise BanditError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)
