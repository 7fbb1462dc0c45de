"""A synthetic storefront with hidden structure, for the demo, tests and offline evaluation.

Hidden click model (a logistic model; ``Affinity`` holds the coefficients)::

    logit(click | shopper s, item i, page product p) = base + user * (u_s . v_i)
        + intent * [category(i) == intent(s)] + popularity * pop_i + context * max(0, v_p . v_i)

u_s: the shopper's hidden taste vector (dim,); v_i: unit item vector built from its category,
brand and noise; pop_i: latent log-popularity that drifts linearly over the history window
(so recency matters). Add-to-cart given a click and purchase given a cart follow the same
affinity. Nothing here names a model: whichever variant recovers taste, intent and context best
wins.

Calibration: the legacy baseline's starting point, not the models. ``base`` is set so that the
legacy 12-cohort bestsellers get about 1.8% CTR per module (a decision of 10 items with the live
shoppers' position bias), as the legacy system did: 1.83% in the demo's default world (seed 0,
20k items), 1.66-1.83% over seeds 0-3 (``world_calibration.legacy_module_ctr``, pinned by a test).
Prices (category level log-normal around $49, items spread around it; mean item $64) give an
ordinary online order of one or two items, roughly $65-$100 (a typical online shop's average
order value); they change no click, only revenue. The models and bandits are not tuned to any
of this: what they reach above the baseline is their own.

History sessions follow the same affinity: a shopper with an intent category browses listing
pages (100 items of a category drawn by popularity) and opens items by softmax of taste and
similarity to the previous item; views get a dwell time, some lead to cart adds and purchases.
28% of sessions are anonymous (session id as user id, a fresh taste vector).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.synthetic_catalog import brands_for, titles_for

DAY_S = 86_400.0
T_END = 1_795_392_000.0  # 2026-11-23T00:00:00Z, the end of the synthetic history
DEVICES = ("mobile", "desktop", "tablet")
DEVICE_SHARE = (0.6, 0.34, 0.06)
LISTING_SIZE = 100  # items on a category listing page a history shopper chooses from
NEW_ITEM_SHARE = 0.03  # items created in the last 2 days: never in the history (cold items)
EXAMINE_DECAY = 0.85  # position bias of live shoppers: rank r of a module is examined with p 0.85^(r-1)


@dataclass(frozen=True)
class Affinity:
    """Coefficients of the hidden logistic click/cart model (see module docstring)."""

    base: float = -7.6
    user: float = 1.0
    intent: float = 1.2
    popularity: float = 0.45
    context: float = 1.2
    cart_base: float = -1.2  # logit of add_to_cart given a click, plus half the taste term
    purchase_given_cart: float = 0.45
    anonymous_share: float = 0.28
    new_item_boost: float = 0.3  # extra log-popularity of new arrivals

    def __post_init__(self) -> None:
        if not (0 <= self.purchase_given_cart <= 1 and 0 <= self.anonymous_share <= 1):
            raise RecoError("Affinity: purchase_given_cart and anonymous_share must be in [0, 1]")


@dataclass(frozen=True, eq=False)
class World:
    """The hidden truth behind a synthetic storefront.

    item_factors: (n_items, dim) float32 unit vectors.  user_factors: (n_users, dim) float32.
    user_ids: (n_users,) str.  user_category_pref: (n_users, n_categories) rows sum to 1.
    user_activity: (n_users,) sampling weights.  item_popularity: (n_items,) log-popularity now.
    item_trend: (n_items,) drift: popularity at history time t is pop - trend * (1 - frac(t)).
    """

    catalog: Catalog
    item_factors: np.ndarray
    user_factors: np.ndarray
    user_ids: np.ndarray
    user_category_pref: np.ndarray
    user_activity: np.ndarray
    item_popularity: np.ndarray
    item_trend: np.ndarray
    category_vectors: np.ndarray
    is_new: np.ndarray
    t_end: float = T_END
    history_days: float = 60.0
    affinity: Affinity = field(default_factory=Affinity)
    category_share: np.ndarray = field(init=False, repr=False)  # (n_categories,) mean preference
    activity_cdf: np.ndarray = field(init=False, repr=False)  # (n_users,) for sampling by activity

    def __post_init__(self) -> None:
        n, dim = self.item_factors.shape
        if n != self.catalog.n_items or self.user_factors.shape != (len(self.user_ids), dim):
            raise RecoError("World: factor shapes do not match the catalog and user ids")
        # Derived once: recomputing them per shopper costs O(n_users) each time.
        object.__setattr__(self, "category_share", self.user_category_pref.mean(axis=0).astype(np.float64))
        object.__setattr__(self, "activity_cdf", np.cumsum(self.user_activity) / self.user_activity.sum())

    @property
    def n_categories(self) -> int:
        return len(self.category_vectors)


@dataclass(frozen=True, eq=False)
class EventLog:
    """Parallel event columns, unpackable as ``user_ids, item_ids, types, ts = log``.

    session_ids, dwell_ms ((n,) float, 0 for non-views) ride along for session-aware uses.
    """

    user_ids: list[str]
    item_ids: list[str]
    types: list[str]
    ts: np.ndarray
    session_ids: list[str]
    dwell_ms: np.ndarray

    def __iter__(self) -> Iterator[object]:
        return iter((self.user_ids, self.item_ids, self.types, self.ts))

    def __len__(self) -> int:
        return len(self.types)

    def to_interactions(self, catalog: Catalog) -> Interactions:
        return Interactions.from_events(catalog, self.user_ids, self.item_ids, self.types, self.ts.tolist())


@dataclass(frozen=True, eq=False)
class Shopper:
    """A live shopper. user_id None = anonymous (~28%). preference: (dim,) hidden taste vector;
    intent: the category this session is about."""

    user_id: str | None
    preference: np.ndarray
    intent: int
    session_id: str
    device: str
    user_idx: int | None = None


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def world_generate(
    *,
    n_items: int = 20_000,
    n_users: int = 5_000,
    n_categories: int = 40,
    n_brands: int = 300,
    dim: int = 16,
    seed: int = 0,
    affinity: Affinity | None = None,
) -> World:
    """A random world; the same arguments give the same world."""
    if min(n_items, n_users, n_categories, n_brands, dim) < 1:
        raise RecoError("world_generate: all sizes must be >= 1")
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.full(n_categories, 3.0))
    category = rng.choice(n_categories, n_items, p=share).astype(np.int32)
    brand = brands_for(category, n_brands, n_categories, share, rng)
    cat_vec = _unit_rows(rng.normal(size=(n_categories, dim)))
    brand_vec = _unit_rows(rng.normal(size=(n_brands, dim)))
    noise = rng.normal(size=(n_items, dim)) / np.sqrt(dim)
    factors = _unit_rows(0.75 * cat_vec[category] + 0.35 * brand_vec[brand] + 0.7 * noise).astype(np.float32)

    brand_pop = rng.normal(0.0, 0.4, n_brands)
    pop_base = rng.normal(0.0, 1.0, n_items) + brand_pop[brand]
    trend = rng.normal(0.0, 0.6, n_items)
    is_new = rng.random(n_items) < NEW_ITEM_SHARE
    aff = affinity or Affinity()
    popularity = (pop_base + trend + aff.new_item_boost * is_new).astype(np.float32)

    cat_price = np.exp(rng.normal(3.9, 0.8, n_categories))
    price = np.round(cat_price[category] * np.exp(rng.normal(0.0, 0.35, n_items)), 0) - 0.01
    history_s = 60.0 * DAY_S
    age = np.where(
        is_new, rng.uniform(0, 2 * DAY_S, n_items), history_s + rng.uniform(0, 300 * DAY_S, n_items)
    )
    catalog = Catalog(
        item_ids=np.array([f"p-{i}" for i in range(n_items)]),
        category=category,
        brand=brand,
        price=np.maximum(price, 0.99),
        created_at=T_END - age,
        titles=np.array(titles_for(factors, category, brand, rng)),
    )

    pref = 0.85 * rng.dirichlet(np.full(n_categories, 0.08), n_users) + 0.15 * share
    taste = _unit_rows(pref @ cat_vec + 0.9 * rng.normal(size=(n_users, dim)) / np.sqrt(dim))
    users = (2.0 * taste).astype(np.float32)
    return World(
        catalog=catalog,
        item_factors=factors,
        user_factors=users,
        user_ids=np.array([f"u-{j}" for j in range(n_users)]),
        user_category_pref=(pref / pref.sum(axis=1, keepdims=True)).astype(np.float32),
        user_activity=rng.lognormal(0.0, 1.0, n_users),
        item_popularity=popularity,
        item_trend=trend.astype(np.float32),
        category_vectors=cat_vec.astype(np.float32),
        is_new=is_new,
        history_days=history_s / DAY_S,
        affinity=aff,
    )


def _fresh_taste(world: World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(category preference, taste vector) of someone who is not among the world's users."""
    c = world.n_categories
    share = world.category_share
    pref = 0.85 * rng.dirichlet(np.full(c, 0.08)) + 0.15 * share
    pref /= pref.sum()
    dim = world.item_factors.shape[1]
    taste = pref @ world.category_vectors + 0.9 * rng.normal(size=dim) / np.sqrt(dim)
    return pref, (2.0 * taste / np.linalg.norm(taste)).astype(np.float32)


def shopper_new(world: World, rng: np.random.Generator) -> Shopper:
    """A live shopper: a known user (by activity) or, with ``anonymous_share``, a new one."""
    session_id = f"s-{rng.integers(0, 2**62):x}"
    device = str(rng.choice(DEVICES, p=DEVICE_SHARE))
    if rng.random() < world.affinity.anonymous_share:
        pref, taste = _fresh_taste(world, rng)
        return Shopper(None, taste, int(rng.choice(len(pref), p=pref)), session_id, device)
    j = min(int(np.searchsorted(world.activity_cdf, rng.random(), side="right")), len(world.user_ids) - 1)
    pref = world.user_category_pref[j].astype(np.float64)
    intent = int(rng.choice(len(pref), p=pref / pref.sum()))
    return Shopper(str(world.user_ids[j]), world.user_factors[j], intent, session_id, device, user_idx=j)


def first_product(world: World, shopper: Shopper, rng: np.random.Generator) -> int:
    """The product page a live shopper lands on: any item of their intent category."""
    in_intent = np.flatnonzero(world.catalog.category == shopper.intent)
    pool = in_intent if len(in_intent) else np.arange(world.catalog.n_items)
    return int(rng.choice(pool))


def click_logits(
    world: World, shopper: Shopper, item_idx: np.ndarray, *, context_product: int | None
) -> np.ndarray:
    """The hidden click logit of ``shopper`` for each item of ``item_idx`` (n,)."""
    a = world.affinity
    v = world.item_factors[item_idx]
    logit = (
        a.base
        + a.user * (v @ shopper.preference)
        + a.intent * (world.catalog.category[item_idx] == shopper.intent)
        + a.popularity * world.item_popularity[item_idx]
    )
    if context_product is not None:
        logit = logit + a.context * np.maximum(0.0, v @ world.item_factors[context_product])
    return logit


def shopper_reacts(
    world: World,
    shopper: Shopper,
    item_idx: np.ndarray,
    *,
    context_product: int | None,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """What ``shopper`` does with the shown items ``item_idx`` (n,).

    Returns (n,) arrays: p_click, p_add_to_cart, p_purchase (unconditional probabilities),
    click, add_to_cart, purchase (bool outcomes, each implying the one before), and revenue
    (price if purchased, else 0; currency units).
    """
    item_idx = np.asarray(item_idx, dtype=np.int64)
    a = world.affinity
    logit = click_logits(world, shopper, item_idx, context_product=context_product)
    p_click = _sigmoid(logit)
    taste = world.item_factors[item_idx] @ shopper.preference
    p_cart_given_click = _sigmoid(a.cart_base + 0.5 * a.user * taste)
    u = rng.random((3, len(item_idx)))
    click = u[0] < p_click
    add = click & (u[1] < p_cart_given_click)
    purchase = add & (u[2] < a.purchase_given_cart)
    p_add = p_click * p_cart_given_click
    return {
        "p_click": p_click,
        "p_add_to_cart": p_add,
        "p_purchase": p_add * a.purchase_given_cart,
        "click": click,
        "add_to_cart": add,
        "purchase": purchase,
        "revenue": np.where(purchase, world.catalog.price[item_idx], 0.0),
    }


@dataclass(frozen=True, eq=False)
class _Listings:
    """Category listing pages: items (sorted by category), indptr (n_categories + 1,), and the
    cumulative exp(popularity) within each category for sampling a page by popularity."""

    items: np.ndarray
    indptr: np.ndarray
    cumw: np.ndarray


def _listings(world: World, popularity: np.ndarray, allowed: np.ndarray) -> _Listings:
    items = np.flatnonzero(allowed)
    cats = world.catalog.category[items]
    order = np.argsort(cats, kind="stable")
    items, cats = items[order], cats[order]
    indptr = np.zeros(world.n_categories + 1, dtype=np.int64)
    np.cumsum(np.bincount(cats, minlength=world.n_categories), out=indptr[1:])
    w = np.exp(popularity[items].astype(np.float64))
    cum = np.cumsum(w)
    cum -= np.repeat(np.concatenate(([0.0], cum[indptr[1:-1] - 1]))[: world.n_categories], np.diff(indptr))
    return _Listings(items, indptr, cum)


def _pick(p: np.ndarray, rng: np.random.Generator) -> int:
    """Index drawn with probabilities proportional to ``p`` (faster than rng.choice for one draw)."""
    c = np.cumsum(p)
    return int(min(np.searchsorted(c, rng.random() * c[-1], side="right"), len(p) - 1))


def _browse(
    world: World,
    listings: _Listings,
    taste: np.ndarray,
    category: int,
    previous: int | None,
    rng: np.random.Generator,
) -> int:
    """Open one item from a listing page of ``category`` by softmax of taste and context."""
    a, b = int(listings.indptr[category]), int(listings.indptr[category + 1])
    if a == b:
        return int(listings.items[rng.integers(0, len(listings.items))])
    cum = listings.cumw[a:b]
    pool = listings.items[a + np.minimum(np.searchsorted(cum, rng.random(LISTING_SIZE) * cum[-1]), b - a - 1)]
    v = world.item_factors[pool]
    score = world.affinity.user * (v @ taste)
    if previous is not None:
        score += world.affinity.context * np.maximum(0.0, v @ world.item_factors[previous])
    return int(pool[_pick(np.exp(score - score.max()), rng)])


def shopper_browse(
    world: World, shopper: Shopper, rng: np.random.Generator, *, previous: int | None = None
) -> int:
    """The next product page a live shopper opens on their own (not via a recommendation):
    mostly in their intent category, chosen by taste and similarity to ``previous``."""
    # Cached on the instance: World is frozen, but its listings are derived data, built once.
    cache = world.__dict__.setdefault("_live_listings", {})
    if "now" not in cache:
        cache["now"] = _listings(world, world.item_popularity, np.ones(world.catalog.n_items, bool))
    category = shopper.intent
    if rng.random() >= 0.8:
        category = int(world.catalog.category[rng.integers(0, world.catalog.n_items)])
    return _browse(world, cache["now"], shopper.preference, category, previous, rng)


def _session_events(
    world: World,
    listings: _Listings,
    popularity: np.ndarray,
    taste: np.ndarray,
    pref: np.ndarray,
    t0: float,
    rng: np.random.Generator,
) -> list[tuple[int, str, float, float]]:
    """One history session: [(item, type, ts, dwell_ms)]."""
    a = world.affinity
    intent = _pick(pref, rng)
    events = []
    previous, t = None, t0
    for _ in range(1 + rng.poisson(4.0)):
        category = intent if rng.random() < 0.8 else _pick(pref, rng)
        item = _browse(world, listings, taste, category, previous, rng)
        like = a.user * float(world.item_factors[item] @ taste)
        dwell = 1000.0 * float(np.exp(rng.normal(np.log(12.0) + 0.6 * like, 0.7)))
        events.append((item, "view", t, dwell))
        p_cart = _sigmoid(a.cart_base - 1.6 + 0.5 * like + 0.2 * popularity[item])
        if rng.random() < p_cart:
            events.append((item, "add_to_cart", t + dwell / 1000.0, 0.0))
            if rng.random() < a.purchase_given_cart:
                events.append((item, "purchase", t + 60.0 + dwell / 1000.0, 0.0))
        previous, t = item, t + dwell / 1000.0 + float(rng.uniform(5, 40))
    return events


def world_history(world: World, *, n_sessions: int, rng: np.random.Generator, n_epochs: int = 6) -> EventLog:
    """``n_sessions`` past sessions spread over the history window (ending at ``world.t_end``).

    Item popularity drifts across ``n_epochs`` slices of the window; new items never appear.
    Anonymous sessions use ``"anon-<n>"`` as user id.
    """
    if n_sessions < 0:
        raise RecoError("world_history: n_sessions must be >= 0")
    window = world.history_days * DAY_S
    old = ~world.is_new
    listings = []
    for e in range(n_epochs):
        lag = 1.0 - (e + 0.5) / n_epochs
        pop = world.item_popularity - world.affinity.new_item_boost * world.is_new - world.item_trend * lag
        listings.append((_listings(world, pop, old), pop))
    cols: dict[str, list[Any]] = {k: [] for k in ("user", "item", "type", "ts", "session", "dwell")}
    starts = np.sort(world.t_end - window + rng.random(n_sessions) * (window - 3600.0))
    for s, t0 in enumerate(starts.tolist()):
        if rng.random() < world.affinity.anonymous_share:
            user = f"anon-{s}"
            pref, taste = _fresh_taste(world, rng)
        else:
            j = min(
                int(np.searchsorted(world.activity_cdf, rng.random(), side="right")), len(world.user_ids) - 1
            )
            user, pref, taste = str(world.user_ids[j]), world.user_category_pref[j], world.user_factors[j]
        epoch = min(int((t0 - (world.t_end - window)) / window * n_epochs), n_epochs - 1)
        for item, kind, ts, dwell in _session_events(world, *listings[epoch], taste, pref, t0, rng):
            cols["user"].append(user)
            cols["item"].append(item)
            cols["type"].append(kind)
            cols["ts"].append(ts)
            cols["session"].append(f"h-{s}")
            cols["dwell"].append(dwell)
    ids = world.catalog.item_ids
    return EventLog(
        user_ids=cols["user"],
        item_ids=[str(ids[i]) for i in cols["item"]],
        types=cols["type"],
        ts=np.asarray(cols["ts"], dtype=np.float64),
        session_ids=cols["session"],
        dwell_ms=np.asarray(cols["dwell"], dtype=np.float64),
    )


def shopper_visit(
    world: World, rng: np.random.Generator, *, max_views: int
) -> tuple[Shopper, list[tuple[int, float]], int]:
    """A new shopper browsing 0 to ``max_views - 1`` product pages on their own, each with a
    log-normal dwell (median 12 s), then landing on a product page: (shopper, viewed, product)."""
    shopper = shopper_new(world, rng)
    viewed: list[tuple[int, float]] = []
    previous = None
    for _ in range(int(rng.integers(0, max_views))):
        previous = shopper_browse(world, shopper, rng, previous=previous)
        viewed.append((previous, float(rng.lognormal(np.log(12_000), 0.7))))
    return shopper, viewed, shopper_browse(world, shopper, rng, previous=previous)
