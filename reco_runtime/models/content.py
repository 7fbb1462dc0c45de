"""``content``: text similarity for items without interactions (new arrivals, long tail).

Each item's document is its title plus ``cat<c>`` and ``brand<b>`` tokens; TF-IDF
(scikit-learn) turns it into a sparse vector, TruncatedSVD into a dense ``dim``-d embedding
(L2-normalised, so inner product = cosine), indexed by IVF for candidate retrieval. A request's
query is the weighted sum of its seeds' embeddings (product, cart, recent views). Scores:
cosine + ``popularity_weight`` * log-popularity scaled to [0, 1].

Only the packaged TF-IDF backend is implemented. A sentence-embedding backend would slot in
where ``_embed`` builds the embeddings, loading a model installed with the package (never
downloaded at run time); none is installed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.ivf import IvfIndex, ivf_build
from reco_runtime.models import _ranking
from reco_runtime.models.base import Recommender
from reco_runtime.neighbours import session_seeds
from reco_runtime.request import RecRequest

DAY_S = 86_400.0


@dataclass(frozen=True)
class ContentParams:
    dim: int = 64
    min_df: int = 1
    max_features: int = 200_000
    popularity_weight: float = 0.05
    n_candidates: int = 600
    n_clusters: int = 0  # 0 = about sqrt(n_items)
    seed: int = 0
    product_weight: float = 1.0
    cart_weight: float = 0.8
    view_weight: float = 0.5
    # > 0: only items listed within this many days of the catalog's newest listing (new arrivals).
    new_within_days: float = 0.0

    def __post_init__(self) -> None:
        if self.dim < 1 or self.min_df < 1 or self.max_features < 1 or self.n_candidates < 1:
            raise RecoError("content: dim, min_df, max_features and n_candidates must be >= 1")
        if not self.new_within_days >= 0:
            raise RecoError("content: new_within_days must be >= 0")


def item_documents(catalog: Catalog) -> list[str]:
    """One text per item: title, category and brand tokens, and the words of its category path
    when the catalog names its categories ("Shoes > Sneakers" adds "Shoes Sneakers")."""
    names = [name.replace(">", " ") for name in np.asarray(catalog.category_names).tolist()]
    return [
        f"{t} cat{c} brand{b} {names[c]}".rstrip()
        for t, c, b in zip(
            catalog.titles.tolist(), catalog.category.tolist(), catalog.brand.tolist(), strict=True
        )
    ]


def _listed_within(catalog: Catalog, days: float) -> np.ndarray | None:
    """(n_items,) uint8, 1 for items listed within ``days`` of the newest listing; None for 0."""
    if days <= 0 or not catalog.n_items:
        return None
    newest = float(catalog.created_at.max())
    return (catalog.created_at >= newest - days * DAY_S).astype(np.uint8)


class Content(Recommender):
    algorithm = "content"
    Params = ContentParams

    @property
    def needs_product(self) -> bool:
        return True  # the items whose text is nearest the product's

    def _embed(self, catalog: Catalog) -> np.ndarray:
        """(n_items, d) float32 unit rows; d <= dim."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        p: ContentParams = self.params
        tfidf = TfidfVectorizer(
            min_df=p.min_df, max_features=p.max_features, sublinear_tf=True, dtype=np.float32
        )
        x = tfidf.fit_transform(item_documents(catalog))
        if x.shape[1] <= p.dim or x.shape[0] <= p.dim:
            emb = x.toarray()
        else:
            emb = TruncatedSVD(n_components=p.dim, random_state=p.seed).fit_transform(x)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return (emb / np.maximum(norms, 1e-12)).astype(np.float32)

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        p: ContentParams = self.params
        embeddings = self._embed(catalog)
        pop = np.log1p(interactions.decayed_item_counts(half_life_s=7 * DAY_S))
        self.popularity = (pop / max(pop.max(), 1e-12)).astype(np.float32)
        self.listed = _listed_within(catalog, p.new_within_days)
        self.index = ivf_build(embeddings, n_clusters=p.n_clusters or None, rng=np.random.default_rng(p.seed))

    def query(self, request: RecRequest) -> np.ndarray | None:
        """The request's query embedding (d,), None without seeds."""
        p: ContentParams = self.params
        seeds = session_seeds(
            request.product,
            request.signals.viewed,
            request.signals.cart,
            product_weight=p.product_weight,
            cart_weight=p.cart_weight,
            view_weight=p.view_weight,
        )
        if not seeds:
            return None
        idx = np.fromiter((i for i, _ in seeds), np.int64, count=len(seeds))
        w = np.fromiter((w for _, w in seeds), np.float32, count=len(seeds))
        q = w @ self.index.vector_of(idx)
        norm = float(np.linalg.norm(q))
        return q / norm if norm > 0 else None

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        q = self.query(request)
        if q is None:
            return _ranking.empty()
        cands, sims = self.index.search(q, self.params.n_candidates + len(exclude))
        if self.listed is not None:
            new = self.listed[cands].astype(bool)
            cands, sims = cands[new], sims[new]
        scores = sims + self.params.popularity_weight * self.popularity[cands]
        return _ranking.top_k(cands, scores, n, exclude, request.available)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        listed = {} if self.listed is None else {"listed": self.listed}
        return {"popularity": self.popularity} | listed | self.index.arrays("ivf"), {}

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self.popularity = arrays["popularity"]
        self.listed = arrays.get("listed")
        self.index = IvfIndex.from_arrays(arrays, "ivf")
        if len(self.index.positions) != catalog.n_items:
            raise RecoError("content: embeddings do not match the catalog")
