"""Side information of the synthetic catalog: brands tied to categories, titles tied to taste.

Titles carry real signal for the ``content`` variant: two style words chosen by the hidden item
vector, a noun per category, the brand name.
"""

from __future__ import annotations

import numpy as np

_WORDS = (
    "classic slim soft bold urban vintage light warm sport eco premium compact smart silk wool "
    "cotton leather matte glossy retro modern minimal wide tall mini pro active travel outdoor "
    "studio cozy bright dark pastel neon rugged elegant casual formal essential deluxe"
).split()
_NOUNS = (
    "shirt dress jacket sneaker boot bag watch lamp chair desk mug kettle blender phone case "
    "headphone speaker camera tent backpack bottle scarf hat belt wallet sofa rug pillow towel "
    "plate knife pan toy puzzle book pen notebook candle vase mirror clock"
).split()


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def brands_for(
    category: np.ndarray, n_brands: int, n_categories: int, share: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """80% of items take a brand whose home is their category, the rest any brand."""
    home = rng.choice(n_categories, n_brands, p=share)
    order = np.argsort(home, kind="stable")
    counts = np.bincount(home, minlength=n_categories)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    own = order[
        np.minimum(
            starts[category] + (rng.random(len(category)) * counts[category]).astype(int), n_brands - 1
        )
    ]
    anywhere = rng.integers(0, n_brands, len(category))
    use_own = (rng.random(len(category)) < 0.8) & (counts[category] > 0)
    return np.where(use_own, own, anywhere).astype(np.int32)


def titles_for(
    factors: np.ndarray, category: np.ndarray, brand: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """Titles carry real signal: two style words chosen by the hidden item vector, a noun per
    category, and the brand name."""
    word_vecs = _unit_rows(rng.normal(size=(len(_WORDS), factors.shape[1])))
    style = np.argsort(-(factors @ word_vecs.T), axis=1)[:, :2]
    nouns = [
        _NOUNS[c % len(_NOUNS)] + ("" if c < len(_NOUNS) else f"{c // len(_NOUNS)}")
        for c in range(int(category.max()) + 1)
    ]
    return [
        f"brand{b} {_WORDS[s0]} {_WORDS[s1]} {nouns[c]}"
        for b, s0, s1, c in zip(
            brand.tolist(), style[:, 0].tolist(), style[:, 1].tolist(), category.tolist(), strict=True
        )
    ]
