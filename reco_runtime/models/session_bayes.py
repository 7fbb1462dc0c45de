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
from numba import njit

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


@njit(cache=True, nogil=True)
def _intent(items: np.ndarray, ev: np.ndarray, category: np.ndarray, cat_alpha: np.ndarray) -> np.ndarray:
    """theta: the Dirichlet posterior mean of the category intent, floored at a tenth of the prior."""
    theta = cat_alpha.copy()
    for j in range(len(items)):
        theta[category[items[j]]] += ev[j]
    theta = np.maximum(theta, 0.1 * cat_alpha)
    return theta / theta.sum()


@njit(cache=True, nogil=True)
def _pool_items(
    theta: np.ndarray,
    max_categories: int,
    cat_indptr: np.ndarray,
    cat_items: np.ndarray,
    nb_items: np.ndarray,
    top: np.ndarray,
) -> np.ndarray:
    """Sorted unique candidates: the prior lists of the most probable categories (until 90% of
    the intent, at most ``max_categories``), the co-view neighbours and the global top."""
    best = np.argsort(-theta, kind="mergesort")[: min(max_categories, len(theta))]
    size = len(nb_items) + len(top)
    for c in best:
        size += cat_indptr[c + 1] - cat_indptr[c]
    pool = np.empty(size, dtype=np.int32)
    pool[: len(nb_items)] = nb_items
    pool[len(nb_items) : len(nb_items) + len(top)] = top
    at = len(nb_items) + len(top)
    mass = 0.0
    for c in best:
        if mass >= 0.9:
            break
        mass += theta[c]
        a, b = cat_indptr[c], cat_indptr[c + 1]
        pool[at : at + b - a] = cat_items[a:b]
        at += b - a
    pool = np.sort(pool[:at])
    n = 0
    for i in range(at):  # unique, in place
        if i == 0 or pool[i] != pool[n - 1]:
            pool[n] = pool[i]
            n += 1
    return pool[:n]


@njit(cache=True, nogil=True)
def _within_category(
    cands: np.ndarray,
    nb_items: np.ndarray,
    nb_scores: np.ndarray,
    category: np.ndarray,
    p_in_cat: np.ndarray,
    n_cat: int,
    s: float,
    coview_weight: float,
    rho: float,
) -> np.ndarray:
    """(s * P0(i | c) + m_i+) / (s + M_c) * exp(-rho * m_i-) for each candidate (float64)."""
    n = len(cands)
    coview = np.zeros(n)
    j = 0
    for i in range(len(nb_items)):  # both sorted, nb_items a subset of cands
        while cands[j] != nb_items[i]:
            j += 1
        coview[j] = np.float32(coview_weight) * nb_scores[i]
    cat_coview = np.zeros(n_cat)
    for i in range(n):
        if coview[i] > 0:
            cat_coview[category[cands[i]]] += coview[i]
    within = np.empty(n)
    s32 = np.float32(s)
    for i in range(n):
        prior = s32 * p_in_cat[cands[i]]
        if len(nb_items):
            w = (prior + max(coview[i], 0.0)) / (s + cat_coview[category[cands[i]]])
            if coview[i] < 0:
                w *= np.exp(-rho * -coview[i])
        else:
            w = prior / s32
        within[i] = w
    return within


@njit(cache=True, nogil=True)
def _session_factors(
    cands: np.ndarray,
    items: np.ndarray,
    ev: np.ndarray,
    removed: np.ndarray,
    brand: np.ndarray,
    brand_weight: float,
    removal_factor: float,
    score: np.ndarray,
) -> None:
    """score *= exp(brand_weight * tanh(n_b)) for the brands the session touched (a handful, in
    order of first touch: a linear scan beats any lookup), and ``removal_factor`` for each
    removed item itself. In place."""
    touched = np.empty(len(items), dtype=np.int64)
    n_b = np.zeros(len(items))
    n_touched = 0
    for j in range(len(items)):
        b = brand[items[j]]
        t = 0
        while t < n_touched and touched[t] != b:
            t += 1
        if t == n_touched:
            touched[t] = b
            n_touched += 1
        n_b[t] += ev[j]
    factor = np.exp(brand_weight * np.tanh(n_b[:n_touched]))
    for i in range(len(cands)):
        b = brand[cands[i]]
        for t in range(n_touched):
            if touched[t] == b:
                score[i] *= factor[t]
                break
        for r in removed:
            if r == cands[i]:
                score[i] *= removal_factor
                break


@njit(cache=True, nogil=True)
def _pool_scores(
    evidence: tuple[np.ndarray, np.ndarray, np.ndarray],
    coviewed: tuple[np.ndarray, np.ndarray],
    catalog: tuple[np.ndarray, np.ndarray],
    prior: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    params: tuple[int, float, float, float, float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The module docstring's formula over the request's candidate pool, in one compiled call:
    (pool: sorted unique int32 items, float32 scores, theta float64).

    evidence: the session's (items, evidence, removed items); coviewed: (sorted items, summed
    scores) of their co-view neighbours; catalog: (category, brand) per item; prior:
    (P0(i | c), category alpha, category lists' indptr and items, global top); params:
    (max_categories, item_prior_strength, coview_weight, rho, removed_evidence, brand_weight)."""
    items, ev, removed = evidence
    nb_items, nb_scores = coviewed
    category, brand = catalog
    p_in_cat, cat_alpha, cat_indptr, cat_items, top = prior
    max_categories, s, coview_weight, rho, removed_evidence, brand_weight = params
    theta = _intent(items, ev, category, cat_alpha)
    cands = _pool_items(theta, max_categories, cat_indptr, cat_items, nb_items, top)
    within = _within_category(
        cands, nb_items, nb_scores, category, p_in_cat, len(theta), s, coview_weight, rho
    )
    score = np.empty(len(cands))
    for i in range(len(cands)):
        score[i] = theta[category[cands[i]]] * within[i]
    _session_factors(cands, items, ev, removed, brand, brand_weight, np.exp(-rho * removed_evidence), score)
    return cands, score.astype(np.float32), theta


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
        top, top_scores = _ranking.top_k(cands, score, n, exclude, request.available)
        return top, top_scores, theta

    def _pool(self, request: RecRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidate pool, float32 scores, theta): everything but the top-n, which alone
        depends on ``n`` and the exclusions."""
        p: SessionBayesParams = self.params
        items, ev = self._evidence(request)
        nb_items, nb_scores = seed_scores_of(self.neighbours, items, ev)
        return _pool_scores(
            (items, ev, np.asarray(request.signals.removed, dtype=np.int64)),
            (nb_items, nb_scores),
            (self._category, self._brand),
            (self.p_in_cat, self.cat_alpha, self.cat_lists.indptr, self.cat_lists.items, self.top),
            (
                p.max_categories,
                float(p.item_prior_strength),
                float(p.coview_weight),
                float(p.removed_penalty),
                float(p.removed_evidence),
                float(p.brand_weight),
            ),
        )

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
