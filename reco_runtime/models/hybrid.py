"""``hybrid``: candidates from several generators, re-ranked with the session's signals.

Generators (each a fitted sub-model, saved in a sub-directory of the artifact):
``item_knn`` on the product, cart and views; ``als`` for the user / folded-in session;
``session_bayes``; ``popularity``; ``content`` when given a weight (text similarity: the only
generator that reaches new arrivals, which have no interactions). Each proposes
``per_generator`` items; a candidate's score is a weighted reciprocal-rank fusion
(Cormack et al. 2009) plus the session's category intent::

    score_i = sum_g w_g / (rrf_k + rank_g(i)) + w_intent * theta_c(i) / (rrf_k + 1)

rank_g is 1-based; a generator that did not propose i contributes 0. theta is
``session_bayes``'s posterior category intent. Weights are params, so a variant of ``hybrid``
can be tuned like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reco_runtime import kernels
from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.models import _ranking
from reco_runtime.models.als import Als
from reco_runtime.models.base import Recommender
from reco_runtime.models.content import Content
from reco_runtime.models.item_knn import ItemKnn
from reco_runtime.models.popularity import Popularity
from reco_runtime.models.session_bayes import SessionBayes
from reco_runtime.request import RecRequest

_NO_INTENT = np.zeros(0)
GENERATORS: dict[str, type[Recommender]] = {
    "knn": ItemKnn,
    "als": Als,
    "session": SessionBayes,
    "popularity": Popularity,
    "content": Content,  # off by default (weight 0); with a weight it reaches items with no history
}

# The default generators plus content over the last 30 days' listings: the params of the
# out-of-the-box hybrid variants, so new arrivals (no interactions yet) reach shoppers through
# them too. At this weight a new arrival that is the page's nearest text match ranks with items
# two co-occurrence generators agree on; in the synthetic shop new items then take about their
# share of the catalog (tests/reco_runtime/test_new_arrivals.py), where without it they get none.
PARAMS_WITH_NEW_ARRIVALS: dict[str, Any] = {
    "weights": {"knn": 1.0, "als": 1.0, "session": 1.0, "popularity": 0.3, "content": 1.3},
    "generator_params": {"content": {"new_within_days": 30.0}},
}


@dataclass(frozen=True)
class HybridParams:
    per_generator: int = 50
    rrf_k: float = 20.0
    weights: dict[str, float] = field(
        default_factory=lambda: {"knn": 1.0, "als": 1.0, "session": 1.0, "popularity": 0.3}
    )
    w_intent: float = 0.3
    generator_params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = (set(self.weights) | set(self.generator_params)) - set(GENERATORS)
        if unknown:
            raise RecoError(f"hybrid: unknown generators {sorted(unknown)}; known: {sorted(GENERATORS)}")
        if self.per_generator < 1 or self.rrf_k < 0 or any(w < 0 for w in self.weights.values()):
            raise RecoError("hybrid: per_generator >= 1, rrf_k >= 0 and weights >= 0 required")


def _weighted(p: HybridParams) -> list[str]:
    """The generators with a positive weight, in ``GENERATORS`` order."""
    return [g for g in GENERATORS if p.weights.get(g, 0.0) > 0]


class Hybrid(Recommender):
    algorithm = "hybrid"
    Params = HybridParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.generators: dict[str, Recommender] = {}

    @classmethod
    def from_generators(cls, generators: dict[str, Recommender], **params: Any) -> Hybrid:
        """A fitted hybrid over already fitted generators (all over the same catalog), e.g. to
        avoid fitting item_knn or als twice when they are published on their own too."""
        missing = [g for g, w in HybridParams(**params).weights.items() if w > 0 and g not in generators]
        if missing:
            raise RecoError(f"hybrid: generators {missing} are weighted but not given")
        model = cls(**params)
        for g, sub in generators.items():
            if not isinstance(sub, GENERATORS.get(g, ())) or sub.catalog is None:
                raise RecoError(f"hybrid: generator {g!r} must be a fitted {GENERATORS.get(g)}")
        first = next(iter(generators.values()))
        model.generators = {g: generators[g] for g in model._active()}
        model.catalog, model.fallback = first.catalog, first.fallback
        model.fit_seconds = sum(sub.fit_seconds or 0.0 for sub in model.generators.values())
        return model

    @classmethod
    def generator_specs(cls, **params: Any) -> dict[str, tuple[str, dict[str, Any]]]:
        """(algorithm, params) of each generator a hybrid with ``params`` fits."""
        p = HybridParams(**params)
        return {g: (GENERATORS[g].algorithm, dict(p.generator_params.get(g, {}))) for g in _weighted(p)}

    def sub_models(self) -> dict[str, Recommender]:
        return self.generators

    @property
    def needs_product(self) -> bool:
        """As its generators: a hybrid that fuses the product's neighbours (``knn``) is anchored
        on the product, even though its other generators would still propose items."""
        for model in self.generators.values():  # a loop: a third of any()'s cost, per served slot
            if model.needs_product:
                return True
        return False

    def _active(self) -> list[str]:
        return _weighted(self.params)

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        self.generators = {
            g: GENERATORS[g](**self.params.generator_params.get(g, {})).fit(
                interactions, catalog, progress=progress
            )
            for g in self._active()
        }

    def generator_lists(
        self, request: RecRequest, exclude: frozenset[int]
    ) -> tuple[list[np.ndarray], list[float], np.ndarray | None]:
        """What the fusion takes: each generator's ranked items (best first, at most
        ``per_generator``), its weight, and ``session_bayes``'s theta (None without it)."""
        p: HybridParams = self.params
        items_parts, weights = [], []
        theta = None
        for g, model in self.generators.items():
            if isinstance(model, SessionBayes):
                items, _, theta = model.scored(request, p.per_generator, exclude)
            else:
                items, _ = model._candidates(request, p.per_generator, exclude)
            items_parts.append(items)
            weights.append(p.weights[g])
        return items_parts, weights, theta

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        p: HybridParams = self.params
        items_parts, weights, theta = self.generator_lists(request, exclude)
        if sum(len(part) for part in items_parts) == 0:
            return _ranking.empty()
        # The category intent enters as w_intent * theta_c / (rrf_k + 1), one term per category.
        intent = _NO_INTENT if not p.w_intent or theta is None else p.w_intent * theta / (p.rrf_k + 1)
        return kernels.rrf_fuse(
            np.concatenate(items_parts),
            np.fromiter((len(part) for part in items_parts), np.int64, len(items_parts)),
            np.asarray(weights, dtype=np.float64),
            float(p.rrf_k),
            intent,
            self.catalog_category,
            n,
            kernels.exclusion_array(exclude),
        )

    @property
    def catalog_category(self) -> np.ndarray:
        if self.catalog is None:
            raise RecoError("hybrid: not fitted")
        return self.catalog.category

    def warm(self) -> Hybrid:
        for model in self.generators.values():
            model.warm()
        self._answer_once()
        return self

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"generators": list(self.generators)}

    def save(self, directory: str | Path) -> None:
        super().save(directory)
        for g, model in self.generators.items():
            model.save(Path(directory) / g)

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self._generator_names = list(meta["generators"])

    def _restore_dir(self, directory: Path, catalog: Catalog) -> None:
        self.generators = {g: GENERATORS[g].load(directory / g, catalog) for g in self._generator_names}
