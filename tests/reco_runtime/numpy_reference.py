"""The request-time formulas in plain numpy: what the compiled kernels (``reco_runtime.kernels``
and the models' own) must reproduce. Written for clarity, one numpy step per line of the
formula; the serving code ran these until the kernels replaced them."""

import numpy as np

from reco_runtime.ivf import IvfIndex
from reco_runtime.models.hybrid import Hybrid
from reco_runtime.models.session_bayes import SessionBayes
from reco_runtime.neighbours import seed_scores_of
from reco_runtime.request import RecRequest


def top_k(cands: np.ndarray, scores: np.ndarray, k: int, exclude) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort by descending score, drop excluded items, keep ``k``."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep = [i for i in order.tolist() if int(cands[i]) not in exclude][:k]
    return np.asarray(cands)[keep].astype(np.int32), np.asarray(scores)[keep].astype(np.float32)


def aggregate(items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique items with their scores summed in float64 in order of appearance."""
    order = np.argsort(items, kind="stable")
    srt = items[order]
    starts = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])
    summed = np.add.reduceat(np.asarray(scores, dtype=np.float64)[order], starts)
    return srt[starts].astype(np.int32), summed.astype(np.float32)


def ivf_search(index: IvfIndex, query: np.ndarray, n_candidates: int) -> tuple[np.ndarray, np.ndarray]:
    """Every cluster by descending probe score until ``n_candidates`` items, 4x that scanned at most."""
    sizes = np.diff(index.indptr)
    order = np.argsort(-(index.centroids @ query), kind="stable")
    enough = int(np.searchsorted(np.cumsum(sizes[order]), n_candidates)) + 1
    items, scores, budget = [], [], 4 * n_candidates
    for c in order[:enough].tolist():
        a = int(index.indptr[c])
        b = min(int(index.indptr[c + 1]), a + budget)
        items.append(index.items[a:b])
        scores.append(index.vectors[a:b] @ query)
        budget -= b - a
        if budget <= 0:
            break
    return np.concatenate(items), np.concatenate(scores)


def session_pool(model: SessionBayes, request: RecRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``session_bayes``'s (candidate pool, float32 scores, theta), as its module docstring states."""
    p = model.params
    items, ev = model._evidence(request)
    alpha = model.cat_alpha
    category = model._category
    theta = np.maximum(alpha + np.bincount(category[items], weights=ev, minlength=len(alpha)), 0.1 * alpha)
    theta = theta / theta.sum()
    nb_items, nb_scores = seed_scores_of(model.neighbours, items, ev)
    best = np.argsort(-theta, kind="stable")[: p.max_categories]
    keep = np.cumsum(theta[best]) - theta[best] < 0.9
    lists = model.cat_lists
    parts = [lists.items[lists.indptr[c] : lists.indptr[c + 1]] for c in best[keep].tolist()]
    cands = np.unique(np.concatenate([*parts, nb_items, model.top])).astype(np.int32)
    cat = category[cands]
    s = p.item_prior_strength
    within = s * model.p_in_cat[cands]
    if len(nb_items):
        m = np.zeros(len(cands))
        m[np.searchsorted(cands, nb_items)] = p.coview_weight * nb_scores
        m_pos = np.maximum(m, 0.0)
        within = (within + m_pos) / (s + np.bincount(cat, weights=m_pos, minlength=len(theta))[cat])
        within = within * np.exp(-p.removed_penalty * np.maximum(-m, 0.0))
    else:
        within = within / s
    score = theta[cat] * within
    if len(items):
        touched = model._brand[items]
        n_b = np.bincount(touched, weights=ev, minlength=model._n_brands)
        factor = np.ones(model._n_brands)
        factor[touched] = np.exp(p.brand_weight * np.tanh(n_b[touched]))
        score = score * factor[model._brand[cands]]
    gone = np.isin(cands, request.signals.removed)
    score[gone] *= np.exp(-p.removed_penalty * p.removed_evidence)
    return cands, score.astype(np.float32), theta


def hybrid_candidates(model: Hybrid, request: RecRequest, n: int, exclude) -> tuple[np.ndarray, np.ndarray]:
    """Weighted reciprocal-rank fusion of the generators' lists plus the category intent (the
    lists themselves come from the model: what is checked is the fusion)."""
    p = model.params
    items_parts, weights, theta = model.generator_lists(request, exclude)
    score_parts = [
        w / (p.rrf_k + np.arange(1, len(items) + 1, dtype=np.float64))
        for items, w in zip(items_parts, weights, strict=True)
    ]
    cands, scores = aggregate(np.concatenate(items_parts), np.concatenate(score_parts))
    if p.w_intent and theta is not None and len(cands):
        scores = scores + p.w_intent * theta[model.catalog_category[cands]] / (p.rrf_k + 1)
    return top_k(cands, scores.astype(np.float32), n, exclude)
