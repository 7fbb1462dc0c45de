"""MovieLens-100k (GroupLens) in its original layout: reading it, and making it from RecBole.

``u.data``: ``user \\t item \\t rating \\t timestamp``.  ``u.item``: ``id|title|release date|video
release date|IMDb URL|`` then 19 genre flags, latin-1. Every rating is one interaction of weight
1. The catalog maps a movie's first genre to ``category``, its release decade to ``brand``, and
its title plus genre names to ``titles`` (for ``content``). The data is licensed for research,
not redistribution: it is fetched on demand and never committed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def _release_epoch(text: str) -> tuple[float, int]:
    """(epoch seconds, year) of a ``01-Jan-1995`` date; (0, 0) if missing."""
    try:
        dt = datetime.strptime(text.strip(), "%d-%b-%Y").replace(tzinfo=UTC)
    except ValueError:
        return 0.0, 0
    return dt.timestamp(), dt.year


def read_catalog(path: Path) -> Catalog:
    ids, cats, decades, created, titles = [], [], [], [], []
    for line in path.read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 5 + len(GENRES):
            raise RecoError(
                f"{path}: expected {5 + len(GENRES)} '|' fields, got {len(fields)}: {line[:60]!r}"
            )
        flags = [g for g, f in zip(GENRES, fields[5 : 5 + len(GENRES)], strict=True) if f.strip() == "1"]
        epoch, year = _release_epoch(fields[2])
        ids.append(fields[0].strip())
        cats.append(GENRES.index(flags[0]) if flags else 0)
        decades.append(max(0, year - 1900) // 10 if year else 0)
        created.append(epoch)
        titles.append(f"{fields[1]} {' '.join(flags)}")
    return Catalog(
        item_ids=np.array(ids),
        category=np.array(cats),
        brand=np.array(decades),
        price=np.ones(len(ids)),
        created_at=np.array(created),
        titles=np.array(titles),
    )


def read_movielens(directory: str | Path) -> tuple[Catalog, Interactions]:
    """(catalog, interactions) of a MovieLens-100k folder holding ``u.data`` and ``u.item``."""
    directory = Path(directory)
    for name in ("u.data", "u.item"):
        if not (directory / name).is_file():
            raise RecoError(
                f"{directory} has no {name}; fetch it with `python -m reco_runtime.movielens_fetch DIR`"
            )
    catalog = read_catalog(directory / "u.item")
    raw = np.loadtxt(directory / "u.data", dtype=np.int64, ndmin=2)
    if raw.shape[1] != 4:
        raise RecoError(f"{directory / 'u.data'}: expected 4 tab-separated columns")
    item_idx = catalog.indices_of(raw[:, 1].astype(str).tolist())
    if len(item_idx) != len(raw):
        raise RecoError(f"{directory / 'u.data'} rates items missing from u.item")
    users, user_idx = np.unique(raw[:, 0], return_inverse=True)
    interactions = Interactions(
        user_idx=user_idx,
        item_idx=item_idx,
        weight=np.ones(len(raw)),
        ts=raw[:, 3].astype(np.float64),
        user_ids=np.array([f"u{u}" for u in users]),
        n_items=catalog.n_items,
    )
    return catalog, interactions
