"""The contract every variant implements, and its on-disk artifact format.

A variant is a ``Recommender`` subclass with a frozen ``Params`` dataclass. ``fit`` precomputes
compact serving arrays (candidate lists, factors); ``recommend`` re-scores a few hundred
candidates per request, never the whole catalog. ``save`` writes one ``.npy`` per array plus
``model.json``; ``load`` memory-maps the arrays read-only so web processes share one copy.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.errors import ArtifactError, RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.models import _ranking
from reco_runtime.request import RecRequest, SessionSignals
from reco_runtime.topn import top_n_indices

log = logging.getLogger(__name__)

MODEL_FORMAT = 1
MODEL_FILE = "model.json"
FALLBACK_N = 500  # length of the bestseller list every variant back-fills short answers from
FALLBACK_HALF_LIFE_S = 7 * 86_400.0
_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class NoParams:
    """A variant without parameters."""


def _jsonable(value: Any) -> Any:
    """Params as JSON: inf/nan as strings (JSON has no literal for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


class Recommender:
    """Base class of the variants. Subclasses set ``algorithm`` and ``Params`` and implement
    ``_fit``, ``_candidates``, ``_state`` (arrays + JSON meta to save) and ``_restore``.

    ``recommend`` = the variant's own ranked candidates, back-filled up to ``k`` from the recent
    bestsellers (``fallback``), so a slot is never left half empty. The page's own product is
    never returned.
    """

    algorithm: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams

    def __init__(self, **params: Any) -> None:
        try:
            self.params = self.Params(**params)
        except TypeError as exc:
            names = [f.name for f in dataclasses.fields(self.Params)]
            raise RecoError(f"{self.algorithm}: bad params {params} ({exc}); known: {names}") from exc
        self.catalog: Catalog | None = None
        self.fit_seconds: float | None = None
        self.fallback: np.ndarray = np.zeros(0, dtype=np.int32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"

    @property
    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    @property
    def is_fitted(self) -> bool:
        return self.catalog is not None

    @property
    def needs_product(self) -> bool:
        """True when the variant's answer is anchored on the page's product ("similar to this",
        "in this category"): without a known product it has nothing of its own to rank and
        would only serve the back-filled bestsellers. A server should then serve another variant."""
        return False

    # -- training ---------------------------------------------------------------------------
    def fit(self, interactions: Interactions, catalog: Catalog, *, progress: Any = None) -> Self:
        """Learn from ``interactions`` over ``catalog``; ``progress`` is an optional tqdm-like bar."""
        if interactions.n_items != catalog.n_items:
            raise RecoError(f"interactions cover {interactions.n_items} items, catalog has {catalog.n_items}")
        start = time.perf_counter()
        counts = interactions.decayed_item_counts(half_life_s=FALLBACK_HALF_LIFE_S)
        self.fallback = top_n_indices(counts, FALLBACK_N)
        self._fit(interactions, catalog, progress)
        self.catalog = catalog
        self.fit_seconds = time.perf_counter() - start
        return self

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        raise NotImplementedError

    # -- serving ----------------------------------------------------------------------------
    def recommend(self, request: RecRequest) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``request.k`` unique item indices (int32) not in ``request.exclude`` and not
        marked unavailable by ``request.available``, with float32 scores in descending order."""
        self._request_check(request, "recommend")
        exclude = request.exclude
        if request.product is not None and request.product not in exclude:
            exclude = exclude | {request.product}
        items, scores = self._candidates(request, request.k, exclude)
        return _ranking.backfill(items, scores, request.k, exclude, self.fallback, request.available)

    def _request_check(self, request: RecRequest, method: str) -> None:
        if self.catalog is None:
            raise RecoError(f"{self.algorithm}: {method}() before fit() or load()")
        if request.max_item() >= self.catalog.n_items:
            raise RecoError(f"request references item {request.max_item()} outside the catalog")
        if request.available is not None and len(request.available) != self.catalog.n_items:
            raise RecoError(
                f"request.available has {len(request.available)} entries, catalog has {self.catalog.n_items}"
            )

    def candidates(self, request: RecRequest, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The variant's own best ``n`` items for ``request`` without back-filling (may be fewer
        or empty), best first; for re-rankers such as ``hybrid``."""
        exclude = request.exclude
        if request.product is not None:
            exclude = exclude | {request.product}
        return self._candidates(request, n, exclude)

    def page_candidates(self, request: RecRequest, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The variant's own best ``n`` items for ``request`` (as ``candidates``, with the checks
        of ``recommend``), to serve several slots of one page with ``recommend_from``: the
        model's work is done once per page instead of once per slot.

        ``n`` should be at least any slot's ``k`` plus the number of items the page may exclude
        beyond ``request.exclude`` before that slot (e.g. the sum of the page's ``k``), so
        filtering never leaves a slot short of the model's own items."""
        self._request_check(request, "page_candidates")
        return self.candidates(request, n)

    def recommend_from(
        self,
        candidates: tuple[np.ndarray, np.ndarray],
        k: int,
        exclude: AbstractSet[int],
        available: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``recommend`` for one slot from ``page_candidates``: the first ``k`` candidates not in
        ``exclude`` (which must hold the page's product and everything the candidates' request
        excluded, plus what earlier slots showed), back-filled from the bestsellers; ``available``
        as the candidates' request had it. Same guarantees: unique items, none excluded or
        unavailable, at most ``k``, scores descending."""
        items, scores = candidates
        if exclude:
            keep = _ranking.first_allowed(items, k, exclude)
            items, scores = items[keep], scores[keep]
        else:
            items, scores = items[:k], scores[:k]
        return _ranking.backfill(items, scores, k, exclude, self.fallback, available)

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _page_once(self, request: RecRequest, what: Any, compute: Callable[[], _T]) -> _T:
        """``compute()``, once per page for this model: kept in ``request.page_memo`` under the
        model, ``what`` and the request's context (product, user, signals), so a request of
        another context can never read it. Results are shared: callers must not modify them."""
        memo = request.page_memo
        if memo is None:
            return compute()
        # The entry keeps the signals object alive, so its id cannot be reused by another one.
        key = (id(self), what, request.product, request.user_id, id(request.signals))
        entry = memo.get(key)
        if entry is None:
            entry = memo[key] = (self, request.signals, compute())
        return entry[2]

    def sub_models(self) -> dict[str, Recommender]:
        """The fitted models this one is made of, by name (``hybrid``'s generators); the dict
        itself, so a loader can swap in an identical model it already holds."""
        return {}

    # -- persistence ------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays to save, JSON-able meta)."""
        raise NotImplementedError

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        raise NotImplementedError

    def warm(self) -> Self:
        """Make the first requests of a fresh process as fast as the rest: touch every page of
        the memory-mapped arrays once (file pages are shared: only the first process reads from
        disk), then answer one request with a product, a view, a cart
        item and a removal, which compiles the kernels this model runs (or loads them from
        numba's on-disk cache: seconds the first time, milliseconds after)."""
        arrays, _ = self._state()
        for arr in (*arrays.values(), self.fallback):
            flat = np.asarray(arr).reshape(-1)
            if flat.size and flat.dtype.kind != "U":
                step = max(1, 4096 // flat.itemsize)
                float(np.asarray(flat[::step], dtype=np.float64).sum())
        self._answer_once()
        return self

    def _answer_once(self) -> None:
        n = self.catalog.n_items if self.catalog is not None else 0
        if n:
            signals = SessionSignals(viewed=((1 % n, 1_000.0),), cart=(2 % n,), removed=(3 % n,))
            # Serving's availability mask is read-only: a type of its own to the kernels.
            available = np.ones(n, dtype=bool)
            available[4 % n] = False
            available.setflags(write=False)
            try:
                self.recommend(RecRequest(k=2, product=0, signals=signals))
                self.recommend(RecRequest(k=2, product=0, signals=signals, available=available))
            except Exception:  # a warm-up only saves time: never refuse a model over it
                log.exception("%s: the warm-up request failed; kernels compile on first use", self.algorithm)

    def _restore_dir(self, directory: Path, catalog: Catalog) -> None:
        """Hook for composite variants that keep sub-models in sub-directories."""

    def save(self, directory: str | Path) -> None:
        """Write ``model.json`` and one ``<name>.npy`` per state array into ``directory``."""
        if self.catalog is None:
            raise RecoError(f"{self.algorithm}: save() before fit()")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays, meta = self._state()
        arrays = {**arrays, "fallback": self.fallback}
        for name, arr in arrays.items():
            np.save(directory / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        doc = {
            "format": MODEL_FORMAT,
            "algorithm": self.algorithm,
            "params": _jsonable(self.params_dict),
            "n_items": self.catalog.n_items,
            "meta": _jsonable(meta),
            "arrays": {n: {"shape": list(a.shape), "dtype": a.dtype.str} for n, a in arrays.items()},
        }
        (directory / MODEL_FILE).write_text(json.dumps(doc, indent=1))

    @classmethod
    def load(cls, directory: str | Path, catalog: Catalog) -> Self:
        """Load a saved model (arrays memory-mapped read-only). Called on the base class it
        dispatches on the saved algorithm. Raises ``ArtifactError`` if missing, corrupt, or
        trained for a catalog of another size."""
        directory = Path(directory)
        try:
            doc = json.loads((directory / MODEL_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot read {directory / MODEL_FILE}: {exc}") from exc
        target = cls._target_class(doc.get("algorithm"))
        if doc.get("n_items") != catalog.n_items:
            raise ArtifactError(
                f"model in {directory} was trained on {doc.get('n_items')} items, "
                f"catalog has {catalog.n_items}"
            )
        arrays = _load_arrays(directory, doc.get("arrays", {}))
        try:
            model = target(**_from_json(doc["params"]))
            model.fallback = arrays.pop("fallback")
            model._restore(arrays, _from_json(doc.get("meta", {})), catalog)
            model._restore_dir(directory, catalog)
        except ArtifactError:
            raise
        except (KeyError, RecoError, TypeError, IndexError) as exc:
            raise ArtifactError(f"cannot restore {target.algorithm} from {directory}: {exc}") from exc
        model.catalog = catalog
        return model  # type: ignore[return-value]

    @classmethod
    def _target_class(cls, algorithm: Any) -> type[Recommender]:
        if cls.algorithm:
            if algorithm != cls.algorithm:
                raise ArtifactError(f"artifact holds algorithm {algorithm!r}, not {cls.algorithm!r}")
            return cls
        from reco_runtime.models import ALGORITHMS

        if algorithm not in ALGORITHMS:
            raise ArtifactError(f"artifact holds unknown algorithm {algorithm!r}")
        return ALGORITHMS[algorithm]


def _load_arrays(directory: Path, spec: dict[str, Any]) -> dict[str, np.ndarray]:
    arrays = {}
    for name, info in spec.items():
        path = directory / f"{name}.npy"
        # An empty array cannot be memory-mapped; load it plainly.
        mmap_mode: Literal["r"] | None = "r" if math.prod(info.get("shape") or [0]) > 0 else None
        try:
            # np.asarray drops the np.memmap subclass (whose slicing costs microseconds per
            # call) but keeps the read-only mapping: processes still share the pages.
            arr = np.asarray(np.load(path, mmap_mode=mmap_mode, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot load {path}: {exc}") from exc
        if list(arr.shape) != info.get("shape") or arr.dtype.str != info.get("dtype"):
            raise ArtifactError(f"{path} has shape {arr.shape} {arr.dtype.str}, expected {info}")
        arrays[name] = arr
    return arrays
