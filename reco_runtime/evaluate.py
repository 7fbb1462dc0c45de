"""Offline evaluation of the variants.

    python -m reco_runtime.evaluate --movielens DIR --k 10 --json
    python -m reco_runtime.evaluate --synthetic [--items N --users N --sessions N --seed S] [--ctr N] --json

Protocol (DESIGN.md): every interaction counts; each user's last 20% of interactions by time is
held out; every offline-capable variant is trained on the rest. A user's request carries their
id, their last training item as the page's product and their last 10 training items as viewed
(dwell unknown), and excludes every item they interacted with in training; held-out items seen
in training are not targets. Metrics over users with at least one target:

    recall@k = hits / |targets|    (RecBole's definition; a user with > k targets cannot reach 1)
    ndcg@k   = sum_hits 1 / log2(rank + 1) / sum_{r <= min(k, |targets|)} 1 / log2(r + 1)
    coverage = distinct recommended items / catalog size
    train_s  = fit wall time, seconds

``--synthetic`` evaluates on the synthetic storefront (``synthetic``) and adds a cold-start cut
(variant name suffixed ``@cold``): new anonymous shoppers with no training history, scored from
their first two page views of a session (product = the second, dwell known), targets = the rest
of the session's items. ``--ctr N`` adds the online view: the expected click, add-to-cart and
revenue rates of each variant's slates on N live synthetic shoppers (the hidden click model).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.models import ALGORITHMS, Recommender
from reco_runtime.request import RecRequest, SessionSignals

if TYPE_CHECKING:
    from reco_runtime.synthetic import EventLog, World

HOLDOUT = 0.2
HISTORY_VIEWS = 10
OFFLINE_VARIANTS = (
    "popularity",
    "cohort_bestsellers",
    "item_knn",
    "als",
    "session_bayes",
    "content",
    "hybrid",
)


@dataclass(frozen=True)
class Case:
    """One evaluation query: the request and the set of held-out target items."""

    request: RecRequest
    targets: frozenset[int]


def ranking_metrics(
    recommended: Sequence[np.ndarray], targets: Sequence[frozenset[int]], k: int, n_items: int
) -> dict[str, float]:
    """Mean recall@k and ndcg@k over queries, and catalog coverage (see module docstring)."""
    if len(recommended) != len(targets):
        raise RecoError("ranking_metrics: one target set per recommendation list")
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg, seen = [], [], set()
    for recs, target in zip(recommended, targets, strict=True):
        if not target:
            continue
        recs = np.asarray(recs)[:k]
        seen.update(recs.tolist())
        hits = np.fromiter((i in target for i in recs.tolist()), dtype=bool, count=len(recs))
        recall.append(hits.sum() / len(target))
        ndcg.append(float(discount[: len(recs)][hits].sum() / discount[: min(k, len(target))].sum()))
    return {
        "recall": float(np.mean(recall)) if recall else 0.0,
        "ndcg": float(np.mean(ndcg)) if ndcg else 0.0,
        "coverage": len(seen) / max(n_items, 1),
    }


def user_cases(train: Interactions, test: Interactions, k: int) -> list[Case]:
    """One case per user with held-out items not seen in their training history."""
    train_items: dict[int, list[int]] = {}
    order = np.lexsort((train.ts, train.user_idx))
    for u, i in zip(train.user_idx[order].tolist(), train.item_idx[order].tolist(), strict=True):
        train_items.setdefault(u, []).append(i)
    test_items: dict[int, set[int]] = {}
    for u, i in zip(test.user_idx.tolist(), test.item_idx.tolist(), strict=True):
        test_items.setdefault(u, set()).add(i)
    cases = []
    for u, target in sorted(test_items.items()):
        history = train_items.get(u, [])
        fresh = frozenset(target - set(history))
        if not fresh:
            continue
        recent = list(dict.fromkeys(reversed(history)))[:HISTORY_VIEWS][::-1]
        request = RecRequest(
            k=k,
            user_id=str(train.user_ids[u]),
            product=recent[-1] if recent else None,
            signals=SessionSignals(viewed=tuple((i, 0.0) for i in recent)),
            exclude=frozenset(history),
        )
        cases.append(Case(request, fresh))
    return cases


def variants_fit(
    train: Interactions,
    catalog: Catalog,
    variants: Iterable[str],
    *,
    params: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
) -> dict[str, Recommender]:
    """Fit each named variant on ``train``; ``params`` maps a variant to its constructor params."""
    params = params or {}
    fitted = {}
    for name in tqdm(list(variants), desc="fit", disable=not progress, leave=False):
        if name not in ALGORITHMS:
            raise RecoError(f"unknown variant {name!r}; known: {sorted(ALGORITHMS)}")
        fitted[name] = ALGORITHMS[name](**params.get(name, {})).fit(train, catalog)
    return fitted


def models_evaluate(
    models: dict[str, Recommender], cases: Sequence[Case], k: int, n_items: int, *, suffix: str = ""
) -> list[dict[str, Any]]:
    """One metrics row per model: {"variant", "recall", "ndcg", "coverage", "train_s"}."""
    rows = []
    targets = [c.targets for c in cases]
    for name, model in models.items():
        recs = [model.recommend(c.request)[0] for c in cases]
        row = {"variant": name + suffix, **ranking_metrics(recs, targets, k, n_items)}
        row["train_s"] = round(model.fit_seconds or 0.0, 3)
        rows.append(row)
    return rows


def evaluate_interactions(
    interactions: Interactions,
    catalog: Catalog,
    *,
    k: int = 10,
    variants: Iterable[str] = OFFLINE_VARIANTS,
    params: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """The DESIGN.md protocol on any interaction log: temporal split, fit, score."""
    train, test = interactions.split_temporal(holdout=HOLDOUT)
    models = variants_fit(train, catalog, variants, params=params, progress=progress)
    return models_evaluate(models, user_cases(train, test, k), k, catalog.n_items)


def synthetic_evaluate(
    *,
    k: int = 10,
    n_items: int = 5000,
    n_users: int = 2000,
    n_sessions: int = 20_000,
    seed: int = 0,
    variants: Iterable[str] = OFFLINE_VARIANTS,
    params: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
    ctr_shoppers: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Known-user protocol on a synthetic history, plus the ``@cold`` cut of new anonymous
    sessions; and, with ``ctr_shoppers``, the online rates of ``online_ctr`` for models refitted
    on the whole history. Returns (offline rows, online rows)."""
    from reco_runtime.synthetic import world_generate, world_history

    world = world_generate(n_items=n_items, n_users=n_users, seed=seed)
    rng = np.random.default_rng(seed + 1)
    interactions = world_history(world, n_sessions=n_sessions, rng=rng).to_interactions(world.catalog)
    train, test = interactions.split_temporal(holdout=HOLDOUT)
    models = variants_fit(train, world.catalog, variants, params=params, progress=progress)
    rows = models_evaluate(models, user_cases(train, test, k), k, world.catalog.n_items)
    anonymous = dataclasses.replace(world, affinity=dataclasses.replace(world.affinity, anonymous_share=1.0))
    cold_log = world_history(anonymous, n_sessions=max(500, n_sessions // 20), rng=rng)
    cold = cold_cases(cold_log, world.catalog, k)
    rows += models_evaluate(models, cold, k, world.catalog.n_items, suffix="@cold")
    online = []
    if ctr_shoppers:
        full = variants_fit(interactions, world.catalog, variants, params=params, progress=progress)
        online = online_ctr(full, world, n_shoppers=ctr_shoppers, rng=rng, k=k)
    return rows, online


def cold_cases(log: EventLog, catalog: Catalog, k: int, *, shown: int = 2) -> list[Case]:
    """Cases from sessions of new shoppers: the first ``shown`` views are the signals."""
    idx = catalog.indices_of(log.item_ids)
    sessions: dict[str, list[tuple[int, str, float]]] = {}
    for s, i, t, d in zip(log.session_ids, idx.tolist(), log.types, log.dwell_ms.tolist(), strict=True):
        sessions.setdefault(s, []).append((i, t, d))
    cases = []
    for events in sessions.values():
        views = [(i, d) for i, t, d in events if t == "view"]
        first = views[:shown]
        target = frozenset(i for i, _, _ in events) - {i for i, _ in first}
        if len(first) < shown or not target:
            continue
        request = RecRequest(k=k, product=first[-1][0], signals=SessionSignals(viewed=tuple(first)))
        cases.append(Case(request, target))
    return cases


def online_ctr(
    models: dict[str, Recommender], world: World, *, n_shoppers: int, rng: np.random.Generator, k: int = 10
) -> list[dict[str, Any]]:
    """Expected click, add-to-cart and revenue rates of each model's slate on live synthetic
    shoppers (``synthetic.shopper_reacts``): each shopper lands on a product page after 0-3
    earlier views, every model answers the same request. Per model:
    {"variant", "ctr", "add_to_cart_rate", "revenue_per_impression"} (means of the hidden
    probabilities over all shown items, so no sampling noise from outcomes)."""
    from reco_runtime.synthetic import shopper_reacts, shopper_visit

    sums = {name: np.zeros(3) for name in models}
    shown = 0
    for _ in range(n_shoppers):
        shopper, viewed, product = shopper_visit(world, rng, max_views=4)
        request = RecRequest(
            k=k,
            user_id=shopper.user_id,
            product=product,
            device=shopper.device,
            signals=SessionSignals(viewed=tuple(viewed)),
        )
        shown += k
        for name, model in models.items():
            items, _ = model.recommend(request)
            out = shopper_reacts(world, shopper, items, context_product=product, rng=rng)
            revenue = out["p_purchase"] * world.catalog.price[items]
            sums[name] += [out["p_click"].sum(), out["p_add_to_cart"].sum(), revenue.sum()]
    return [
        {
            "variant": name,
            "ctr": s[0] / shown,
            "add_to_cart_rate": s[1] / shown,
            "revenue_per_impression": s[2] / shown,
        }
        for name, s in sums.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Offline evaluation of the recommender variants.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--movielens", metavar="DIR", help="MovieLens-100k folder with u.data and u.item")
    source.add_argument(
        "--synthetic", action="store_true", help="the synthetic storefront, with a cold-start cut"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print a JSON list (default: a table)")
    parser.add_argument("--variants", default=",".join(OFFLINE_VARIANTS))
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ctr",
        type=int,
        default=0,
        metavar="N",
        help="with --synthetic: also the online click/cart/revenue rates over N live shoppers",
    )
    parser.add_argument("--progress", action="store_true", help="tqdm bars on stderr")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    start = time.perf_counter()
    online: list[dict[str, Any]] = []
    try:
        if args.movielens:
            from reco_runtime.movielens import read_movielens

            catalog, interactions = read_movielens(args.movielens)
            rows = evaluate_interactions(
                interactions, catalog, k=args.k, variants=variants, progress=args.progress
            )
        else:
            rows, online = synthetic_evaluate(
                k=args.k,
                n_items=args.items,
                n_users=args.users,
                n_sessions=args.sessions,
                seed=args.seed,
                variants=variants,
                progress=args.progress,
                ctr_shoppers=args.ctr,
            )
    except RecoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print(rows, online, as_json=args.json)
    print(f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0


def _print(rows: list[dict[str, Any]], online: list[dict[str, Any]], *, as_json: bool) -> None:
    """Offline rows as a JSON list (one line) or a table; online rates, if any, after them."""
    if as_json:
        print(json.dumps(rows))
        if online:
            print(json.dumps(online))
        return
    print(f"{'variant':<26}{'recall':>9}{'ndcg':>9}{'coverage':>10}{'train_s':>9}")
    for r in rows:
        print(
            f"{r['variant']:<26}{r['recall']:>9.4f}{r['ndcg']:>9.4f}{r['coverage']:>10.4f}{r['train_s']:>9.2f}"
        )
    if online:
        print(f"\n{'variant (online)':<26}{'ctr':>9}{'cart':>9}{'rev/imp':>10}")
        for r in online:
            print(
                f"{r['variant']:<26}{r['ctr']:>9.2%}{r['add_to_cart_rate']:>9.3%}{r['revenue_per_impression']:>10.4f}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
