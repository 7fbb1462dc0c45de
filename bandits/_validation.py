"""Input checks shared by the bandits modules; each failure raises BanditError with a fix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bandits.errors import BanditError

ArrayLike = Sequence[float] | np.ndarray | float | int


def float_array(name: str, value: object, *, ndim: int | None = 1) -> np.ndarray:
    """`value` as a read-only float64 array; rejects NaN/inf and a wrong number of dimensions."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BanditError(f"{name} must be numbers, got {value!r}") from exc
    if ndim is not None and array.ndim != ndim:
        raise BanditError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise BanditError(f"{name} must be finite (no NaN or inf), got {array}")
    array.setflags(write=False)
    return array


def check_same_length(**arrays: np.ndarray) -> int:
    """The common length of 1-d arrays; raises when they differ."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise BanditError(f"arrays must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def check_nonnegative(name: str, array: np.ndarray) -> None:
    if np.any(array < 0):
        raise BanditError(f"{name} must be >= 0, got {array}")


def check_positive(name: str, array: np.ndarray) -> None:
    if np.any(array <= 0):
        raise BanditError(f"{name} must be > 0, got {array}")


def check_probability(name: str, value: float, *, open_interval: bool = True) -> float:
    """A scalar in (0, 1) (or [0, 1) with open_interval=False)."""
    value = float(value)
    low_ok = value > 0 if open_interval else value >= 0
    if not (low_ok and value < 1):
        bounds = "(0, 1)" if open_interval else "[0, 1)"
        raise BanditError(f"{name} must be in {bounds}, got {value}")
    return value


def check_draws(draws: int, *, minimum: int = 1) -> int:
    if isinstance(draws, bool) or int(draws) != draws or draws < minimum:
        raise BanditError(f"draws must be an integer >= {minimum}, got {draws!r}")
    return int(draws)
