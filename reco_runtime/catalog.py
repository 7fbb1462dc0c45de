"""The item catalog in index space.

Every model works on item *indices* ``0..n-1``; the catalog maps external ids (``"p-42"``) to
indices and carries the side information the models use (category, brand, price, age, title).
Arrays are stored as ``.npy`` files so web processes can ``mmap`` one shared copy.

Categories form a tree: ``category_parent[c]`` is the code of category ``c``'s parent (-1 at
the top) and ``category_names[c]`` its name, over every level ("Women", "Women > Shoes",
"Women > Shoes > Sneakers" are three codes). An item's ``category`` is its own (deepest) level.
Codes of categories that hold items come first, so ``n_categories`` counts those, and
``n_category_nodes`` every level. A catalog saved before the tree existed (format 1) loads
as a flat one: every category at the top.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reco_runtime.errors import ArtifactError, RecoError

CATALOG_FORMAT = 2
_ARRAYS = ("item_ids", "category", "brand", "price", "created_at", "titles")
_TREE_ARRAYS = ("category_parent", "category_names")


def _as_str_array(values: object) -> np.ndarray:
    """A fixed-width unicode array (mmap-able, unlike dtype object); no copy if already one."""
    arr = np.asarray(values)
    return arr if arr.dtype.kind == "U" else arr.astype(str)


@dataclass(frozen=True, eq=False)
class Catalog:
    """Items with side information; all arrays have shape ``(n,)``.

    item_ids: external ids (str), unique.  category, brand: int32 codes ``>= 0``.
    price: float32 currency units ``>= 0``.  created_at: float64 epoch seconds.  titles: str.
    """

    item_ids: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    created_at: np.ndarray
    titles: np.ndarray
    category_parent: np.ndarray | None = None
    category_names: np.ndarray | None = None
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        coerced = {
            "item_ids": _as_str_array(self.item_ids),
            "category": np.asarray(self.category, dtype=np.int32),
            "brand": np.asarray(self.brand, dtype=np.int32),
            "price": np.asarray(self.price, dtype=np.float32),
            "created_at": np.asarray(self.created_at, dtype=np.float64),
            "titles": _as_str_array(self.titles),
        }
        for name, arr in coerced.items():
            if arr.shape != (n,):
                raise RecoError(f"Catalog.{name} must have shape ({n},), got {arr.shape}")
            object.__setattr__(self, name, arr)
        if n and (self.category.min() < 0 or self.brand.min() < 0):
            raise RecoError("Catalog.category and Catalog.brand must be codes >= 0")
        if n and not np.all(np.isfinite(self.price) & (self.price >= 0)):
            raise RecoError("Catalog.price must be finite and >= 0")
        self._tree_check()
        index = {item_id: i for i, item_id in enumerate(self.item_ids.tolist())}
        if len(index) != n:
            raise RecoError("Catalog.item_ids must be unique")
        object.__setattr__(self, "_index", index)

    def _tree_check(self) -> None:
        """Default a flat tree (no parents, no names); refuse parents out of range or in a cycle."""
        n_items_categories = int(self.category.max()) + 1 if len(self.category) else 0
        parent = self.category_parent
        parent = np.full(n_items_categories, -1, dtype=np.int32) if parent is None else np.asarray(parent)
        parent = parent.astype(np.int32, copy=False)
        n_nodes = len(parent)
        names = self.category_names
        names = _as_str_array([""] * n_nodes if names is None else names)
        if parent.ndim != 1 or n_nodes < n_items_categories or names.shape != (n_nodes,):
            raise RecoError(
                f"Catalog.category_parent and category_names must have one entry per category code "
                f"(>= {n_items_categories}), got {parent.shape} and {names.shape}"
            )
        if n_nodes and (parent.min() < -1 or parent.max() >= n_nodes):
            raise RecoError("Catalog.category_parent must hold codes of categories or -1")
        if category_ancestry(parent).shape[1] > n_nodes:
            raise RecoError("Catalog.category_parent has a cycle")
        object.__setattr__(self, "category_parent", parent)
        object.__setattr__(self, "category_names", names)

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_categories(self) -> int:
        """Number of category codes (max code + 1)."""
        return int(self.category.max()) + 1 if len(self) else 0

    @property
    def n_category_nodes(self) -> int:
        """Number of category codes of every level (>= ``n_categories``)."""
        return len(self.category_parent) if self.category_parent is not None else self.n_categories

    @property
    def has_category_tree(self) -> bool:
        return self.category_parent is not None and bool(np.any(self.category_parent >= 0))

    def category_ancestry(self) -> np.ndarray:
        """(n_category_nodes, depth) int32: row c is c, its parent, grandparent, ..., -1 padded."""
        assert self.category_parent is not None
        return category_ancestry(self.category_parent)

    @property
    def n_brands(self) -> int:
        return int(self.brand.max()) + 1 if len(self) else 0

    def index_of(self, item_id: str) -> int | None:
        """Item index of an external id, ``None`` if unknown. O(1)."""
        return self._index.get(item_id)

    def indices_of(self, item_ids: Iterable[str]) -> np.ndarray:
        """int32 indices of the known ids, in input order; unknown ids are dropped."""
        get = self._index.get
        found = [i for i in (get(item_id) for item_id in item_ids) if i is not None]
        return np.asarray(found, dtype=np.int32)

    def ids_of(self, indices: Iterable[int]) -> list[str]:
        """External ids of item indices (the inverse of ``indices_of``)."""
        ids = self.item_ids
        return [str(ids[int(i)]) for i in indices]

    def fingerprint(self) -> str:
        """Short content hash: equal catalogs have equal fingerprints."""
        import hashlib

        h = hashlib.blake2b(digest_size=8)
        for name in _ARRAYS:
            h.update(np.ascontiguousarray(getattr(self, name)).tobytes())
        if self.has_category_tree or np.any(self.category_names != ""):  # a flat catalog keeps its hash
            for name in _TREE_ARRAYS:
                h.update(np.ascontiguousarray(getattr(self, name)).tobytes())
        return h.hexdigest()

    def save(self, directory: str | Path) -> None:
        """Write ``<name>.npy`` per array and ``catalog.json`` into ``directory`` (created)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS + _TREE_ARRAYS:
            np.save(directory / f"{name}.npy", getattr(self, name), allow_pickle=False)
        meta = {"format": CATALOG_FORMAT, "n_items": len(self), "fingerprint": self.fingerprint()}
        (directory / "catalog.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: str | Path) -> Catalog:
        """Read a catalog written by ``save``; raises ``ArtifactError`` if missing or corrupt."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "catalog.json").read_text())
            saved_format = meta.get("format", 1)
            if saved_format > CATALOG_FORMAT:
                raise ArtifactError(
                    f"catalog in {directory} has format {saved_format}; this runtime reads up to "
                    f"{CATALOG_FORMAT}: upgrade the runtime or retrain"
                )
            # Format 1 had no category tree: it loads flat.
            names = _ARRAYS + (_TREE_ARRAYS if saved_format >= 2 else ())
            arrays = {
                name: np.asarray(np.load(directory / f"{name}.npy", allow_pickle=False, mmap_mode="r"))
                for name in names
            }
            catalog = cls(**arrays)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"cannot load catalog from {directory}: {exc}") from exc
        if meta.get("n_items") != len(catalog):
            raise ArtifactError(
                f"catalog in {directory} has {len(catalog)} items, manifest says {meta.get('n_items')}"
            )
        return catalog


def category_ancestry(parent: np.ndarray) -> np.ndarray:
    """(n, depth) int32: row c lists c, its parent, its grandparent, ... to the top, -1 padded.

    A cycle makes the walk longer than ``n`` levels; it stops there (the caller checks)."""
    n = len(parent)
    levels = [np.arange(n, dtype=np.int32)]
    current = levels[0]
    while n and np.any(current >= 0) and len(levels) <= n:
        current = np.where(current >= 0, parent[np.maximum(current, 0)], -1).astype(np.int32)
        if not np.any(current >= 0):
            break
        levels.append(current)
    return np.stack(levels, axis=1) if n else np.zeros((0, 1), dtype=np.int32)
