"""``session_bayes``: a popularity/recency prior updated by this session's signals.

No user history needed: it serves sensible items from the first page view of an anonymous
session and better ones as the session goes on. The predictive score of item i (category c,
brand b) is::

    score_i = theta_c * (s * P0(i | c) + m_i+) / (s + M_c) * exp(beta * tanh(n_b)) * exp(-rho * m_i-)

theta ~ Dirichlet(alpha * share + n): the session's category intent. The prior share is the
category's share of time-decayed popularity; n_c sums this session's evidence on category c:
the product page (``product_evidence``), each view by dwell (``dwell_ms / dwell_ref_ms`` clipped
to [0.2, 3]; unknown dwell = 1), each cart add (``cart_evidence``), each removal (negative,
``removed_evidence``). theta_c is floored at a tenth of its prior so removals cannot zero a
category.  P0(i | c): the item's share of its category's prior mass: decayed popularity plus a
recency pseudo-count for new items (``new_item_prior`` x the category's mean popularity x
2^-(age / new_half_life_days)).  m_i: evidence transferred from the session's items to their
co-viewed neighbours (cosine, ``coview_weight``); M_c: its sum in category c (Dirichlet-
multinomial update within the category). Removed items push their neighbours down
(m_i-, ``rho``) and their brand's evidence n_b below zero (brand factor, ``brand_weight``); a
removed item itself is scaled by exp(-rho * removed_evidence).

Candidates: the prior lists of the most probable categories, the co-view neighbours of the
session's items and the global top, a few hundred items per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.models import _ranking
from reco_runtime.models.base import Recommender
from reco_runtime.neighbours import cosine_neighbours, damped, seed_scores_of
from reco_runtime.request import RecRequest
from reco_runtime.topn import Ragged, group_top_n, top_n_indices

DAY_S = 86_400.0


@dataclass(frozen=True)
class SessionBayesParams:
    half_life_days: float = 7.0
    new_item_prior: float = 1.0
    new_half_life_days: float = 7.0
    category_prior_strength: float = 2.0
    item_prior_strength: float = 1.0
    coview_weight: float = 2.0
    coview_neighbors: int = 50
    product_evidence: float = 1.0
    cart_evidence: float = 3.0
    removed_evidence: float = 1.5
    dwell_ref_ms: float = 15_000.0
    brand_weight: float = 0.5
    removed_penalty: float = 4.0  # rho
    per_category: int = 100  # prior-list items taken from each probable category
    max_categories: int = 3
    global_top: int = 100
    max_views: int = 20

    def __post_init__(self) -> None:
        positive = (
            self.half_life_days,
            self.new_half_life_days,
            self.category_prior_strength,
            self.item_prior_strength,
            self.dwell_ref_ms,
        )
        if min(positive) <= 0:
            raise RecoError("session_bayes: half lives, prior strengths and dwell_ref_ms must be > 0")
        if min(self.coview_neighbors, self.per_category, self.max_categories, self.max_views) < 1:
            raise RecoError("session_bayes: list sizes must be >= 1")


def _positions_in(sorted_items: np.ndarray, wanted: tuple[int, ...]) -> np.ndarray:
    """Positions in ``sorted_items`` (sorted, unique) of those of ``wanted`` it holds: a binary
    search per wanted item (``np.isin`` costs far more for a handful of them)."""
    wanted_arr = np.asarray(wanted, dtype=sorted_items.dtype)
    pos = np.searchsorted(sorted_items, wanted_arr)
    inside = pos < len(sorted_items)
    pos, wanted_arr = pos[inside], wanted_arr[inside]
    return pos[sorted_items[pos] == wanted_arr]


class SessionBayes(Recommender):
    algorithm = "session_bayes"
    Params = SessionBayesParams

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        p: SessionBayesParams = self.params
        pop = interactions.decayed_item_counts(half_life_s=p.half_life_days * DAY_S)
        cat = catalog.category
        n_cat = catalog.n_categories
        cat_mass = np.bincount(cat, weights=pop, minlength=n_cat)
        cat_mean = cat_mass / np.maximum(np.bincount(cat, minlength=n_cat), 1)
        t_ref = max(interactions.window[1], float(catalog.created_at.max()) if len(catalog) else 0.0)
        age = np.maximum(t_ref - catalog.created_at, 0.0)
        newness = np.exp2(-age / (p.new_half_life_days * DAY_S))
        prior = pop + p.new_item_prior * cat_mean[cat] * newness + 1e-9
        cat_total = np.bincount(cat, weights=prior, minlength=n_cat)
        self.p_in_cat = (prior / cat_total[cat]).astype(np.float32)  # P0(i | c)
        self.cat_alpha = (p.category_prior_strength * cat_total / cat_total.sum()).astype(np.float64)
        self.cat_lists = group_top_n(cat, self.p_in_cat, p.per_category, n_groups=n_cat)
        self.top = top_n_indices(prior, p.global_top)
        x = damped(interactions.user_item_matrix(), "log")
        self.neighbours = cosine_neighbours(x, p.coview_neighbors, progress=bool(progress))
        self._bind(catalog)

    def _bind(self, catalog: Catalog) -> None:
        self._category = catalog.category
        self._brand = catalog.brand
        self._n_brands = catalog.n_brands

    def _evidence(self, request: RecRequest) -> tuple[np.ndarray, np.ndarray]:
        """(items, evidence) of the session: positive for the product, views, cart; negative for
        removals."""
        p: SessionBayesParams = self.params
        sig = request.signals
        items: list[int] = []
        ev: list[float] = []
        if request.product is not None:
            items.append(request.product)
            ev.append(p.product_evidence)
        for item, dwell in sig.viewed[-p.max_views :]:
            items.append(item)
            ev.append(1.0 if dwell <= 0 else min(3.0, max(0.2, dwell / p.dwell_ref_ms)))
        items += sig.cart
        ev += [p.cart_evidence] * len(sig.cart)
        items += sig.removed
        ev += [-p.removed_evidence] * len(sig.removed)
        return np.asarray(items, dtype=np.int64), np.asarray(ev, dtype=np.float64)

    def category_posterior(self, request: RecRequest) -> np.ndarray:
        """theta: (n_categories,) posterior mean of the session's category intent."""
        return self._theta(*self._evidence(request))

    def _theta(self, items: np.ndarray, ev: np.ndarray) -> np.ndarray:
        alpha = self.cat_alpha
        if not len(items):
            return alpha / alpha.sum()
        theta = np.maximum(
            alpha + np.bincount(self._category[items], weights=ev, minlength=len(alpha)), 0.1 * alpha
        )
        return theta / theta.sum()

    def _candidate_pool(self, theta: np.ndarray, neighbour_items: np.ndarray) -> np.ndarray:
        p: SessionBayesParams = self.params
        m = min(p.max_categories, len(theta))
        best = np.argpartition(-theta, m - 1)[:m] if m < len(theta) else np.arange(len(theta))
        best = best[np.argsort(-theta[best])]
        keep = np.cumsum(theta[best]) - theta[best] < 0.9  # categories until 90% of the intent
        indptr = self.cat_lists.indptr
        parts = [self.cat_lists.items[indptr[c] : indptr[c + 1]] for c in best[keep].tolist()]
        return _ranking.unique(np.concatenate([*parts, neighbour_items, self.top]))

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        items, scores, _ = self.scored(request, n, exclude)
        return items, scores

    def scored(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(top-n items, their scores, theta), theta as in ``category_posterior``."""
        cands, score, theta = self._page_once(request, "pool", lambda: self._pool(request))
        top, top_scores = _ranking.top_k(cands, score, n, exclude)
        return top, top_scores, theta

    def _pool(self, request: RecRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidate pool, float32 scores, theta): everything but the top-n, which alone
        depends on ``n`` and the exclusions."""
        p: SessionBayesParams = self.params
        items, ev = self._evidence(request)
        theta = self._theta(items, ev)
        nb_items, nb_scores = seed_scores_of(self.neighbours, items, ev)
        cands = self._candidate_pool(theta, nb_items)
        cat = self._category[cands]
        s = p.item_prior_strength
        within = s * self.p_in_cat[cands]
        if len(nb_items):
            m = np.zeros(len(cands))
            m[np.searchsorted(cands, nb_items)] = p.coview_weight * nb_scores
            m_pos = np.maximum(m, 0.0)
            within = (within + m_pos) / (s + np.bincount(cat, weights=m_pos, minlength=len(theta))[cat])
            if (m < 0).any():
                within = within * np.exp(-p.removed_penalty * np.maximum(-m, 0.0))
        else:
            within = within / s
        score = theta[cat] * within
        if len(items):
            score = self._brand_factor(cands, items, ev, score)
        if request.signals.removed:  # the removed item itself: rho * its removal evidence
            gone = _positions_in(cands, request.signals.removed)
            score[gone] *= np.exp(-p.removed_penalty * p.removed_evidence)
        return cands, score.astype(np.float32), theta

    def _brand_factor(
        self, cands: np.ndarray, items: np.ndarray, ev: np.ndarray, score: np.ndarray
    ) -> np.ndarray:
        """score * exp(brand_weight * tanh(n_b)) for the few brands the session touched.

        One lookup table over the brands instead of a pass over the candidates per touched
        brand: the candidates are a few hundred, so each numpy call costs more than its work."""
        touched = self._brand[items]
        n_b = np.bincount(touched, weights=ev, minlength=self._n_brands)
        factor = np.ones(self._n_brands)
        factor[touched] = np.exp(self.params.brand_weight * np.tanh(n_b[touched]))
        return score * factor[self._brand[cands]]

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"p_in_cat": self.p_in_cat, "cat_alpha": self.cat_alpha, "top": self.top}
        return arrays | self.cat_lists.arrays("cat") | self.neighbours.arrays("nb"), {}

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self.p_in_cat = arrays["p_in_cat"]
        self.cat_alpha = np.asarray(arrays["cat_alpha"])
        self.top = arrays["top"]
        self.cat_lists = Ragged.from_arrays(arrays, "cat")
        self.neighbours = Ragged.from_arrays(arrays, "nb")
        if len(self.p_in_cat) != catalog.n_items or len(self.cat_alpha) != catalog.n_categories:
            raise RecoError("session_bayes: arrays do not match the catalog")
        self._bind(catalog)
