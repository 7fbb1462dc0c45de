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

# The department and aisle above each noun, so the demo shop has category paths to walk up.
_AISLES = {
    "Fashion > Clothing": "shirt dress jacket scarf hat",
    "Fashion > Shoes": "sneaker boot",
    "Fashion > Accessories": "bag watch belt wallet",
    "Home > Furniture": "chair desk sofa",
    "Home > Decor": "lamp rug pillow candle vase mirror clock",
    "Home > Bath": "towel",
    "Home > Kitchen": "mug kettle blender plate knife pan",
    "Electronics > Phones": "phone case",
    "Electronics > Audio": "headphone speaker",
    "Electronics > Cameras": "camera",
    "Outdoor > Camping": "tent backpack bottle",
    "Toys & Books > Toys": "toy puzzle",
    "Toys & Books > Books & Stationery": "book pen notebook",
}
_AISLE_OF = {noun: aisle for aisle, nouns in _AISLES.items() for noun in nouns.split()}
_SYLLABLES = "ka lo mi ra to ve sun nor del fi ba ze qu an el or ti mu sa po".split()


def _plural(noun: str) -> str:
    if noun == "knife":
        return "knives"
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def category_paths(n_categories: int) -> list[str]:
    """A category path per synthetic category code, one leaf each (the world's categories stay
    distinct): ``'Home > Kitchen > Kettles'``, ``'Home > Kitchen > Kettles 2'`` for code 40 + 9."""
    paths = []
    for c in range(n_categories):
        noun = _NOUNS[c % len(_NOUNS)]
        series = "" if c < len(_NOUNS) else f" {c // len(_NOUNS) + 1}"
        paths.append(f"{_AISLE_OF[noun]} > {_plural(noun).capitalize()}{series}")
    return paths


def brand_names(n_brands: int) -> list[str]:
    """A made-up, distinct name per brand code (``'Kalomi'``), three syllables from the code."""
    k = len(_SYLLABLES)
    names = []
    for b in range(n_brands):
        parts = [_SYLLABLES[b % k], _SYLLABLES[(b // k) % k], _SYLLABLES[(b // k // k) % k]]
        suffix = "" if b < k**3 else f" {b // k**3 + 1}"
        names.append("".join(parts).capitalize() + suffix)
    return names


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
    brands = brand_names(int(brand.max()) + 1)
    return [
        f"{brands[b]} {_WORDS[s0]} {_WORDS[s1]} {nouns[c]}"
        for b, s0, s1, c in zip(
            brand.tolist(), style[:, 0].tolist(), style[:, 1].tolist(), category.tolist(), strict=True
        )
    ]
