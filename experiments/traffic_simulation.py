"""Simulated shoppers browsing through the real REST API.

Each shopper has hidden taste and a session intent (``reco_runtime.synthetic``). A session
views a few product pages; each page asks ``/api/v1/assignments`` for every product-page
slot, posts the impressions, and the shopper clicks, adds to cart and buys according to
the hidden model (with position bias: rank r is examined with probability 0.85^(r-1)).
Purchases are posted at the end of the session without a decision, as a checkout would.
A session with a cart shows the cart page's slot; one that bought sees the post-purchase slot;
one that left without buying gets, with probability ``EMAIL_OPEN_RATE``, a follow-up email that
it opens: the email slot's items, its clicks and carts, and a checkout of what it put in the cart.
The storefront never sees the hidden model: only better items earn more clicks.
"""

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import orjson

from reco_runtime.synthetic import EXAMINE_DECAY, Shopper, World, first_product, shopper_new, shopper_reacts

# Share of sessions that left without buying and open the follow-up email.
EMAIL_OPEN_RATE = 0.3


@dataclass
class TrafficStats:
    sessions: int = 0
    pages: int = 0
    emails: int = 0
    decisions: int = 0
    clicks: int = 0
    purchases: int = 0
    revenue: float = 0.0
    fallbacks: int = 0
    errors: list[str] = field(default_factory=list)


class StorefrontClient:
    """POSTs JSON with the storefront key through a Django test client or over HTTP."""

    def __init__(self, key: str, *, base_url: str | None = None, django_client=None) -> None:
        self.key = key
        self.base_url = base_url.rstrip("/") if base_url else None
        self.django_client = django_client

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        payload = orjson.dumps(body)
        if self.base_url is None:
            response = self.django_client.post(
                path, data=payload, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {self.key}"
            )
            return response.status_code, orjson.loads(response.content or b"{}")
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self.base_url + path,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Api-Key {self.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, orjson.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, orjson.loads(exc.read() or b"{}")


def _event(kind: str, shopper: Shopper, **fields) -> dict:
    return {
        "event_id": f"sim-{uuid.uuid4().hex}",
        "type": kind,
        "ts": datetime.now(UTC).isoformat(),
        "session_id": shopper.session_id,
        "user_id": shopper.user_id,
        **fields,
    }


class SessionSimulator:
    def __init__(self, world: World, client: StorefrontClient, rng: np.random.Generator, stats: TrafficStats):
        self.world, self.client, self.rng, self.stats = world, client, rng, stats
        self.index = {str(item): i for i, item in enumerate(world.catalog.item_ids)}

    def _page(self, shopper: Shopper, product: int, cart: list[str], page: str = "product") -> list[int]:
        """One page with all its slots: returns the item indices the shopper clicked."""
        context = {
            "page": page,
            "product_id": str(self.world.catalog.item_ids[product]),
            "cart": list(cart),
            "device": shopper.device,
        }
        status, body = self.client.post(
            "/api/v1/assignments",
            {"session_id": shopper.session_id, "user_id": shopper.user_id, "context": context},
        )
        if status != 200:
            self.stats.errors.append(f"assignments {status}: {body}")
            return []
        events = []
        if page == "product":
            dwell_ms = int(self.rng.exponential(30_000))
            events.append(_event("view", shopper, item_id=context["product_id"], dwell_ms=dwell_ms))
        clicked: list[int] = []
        for decision in body["decisions"]:
            if "error" in decision or not decision["items"]:
                continue
            self.stats.decisions += 1
            self.stats.fallbacks += decision["fallback"]
            events.append(_event("impression", shopper, decision_id=decision["decision_id"]))
            items = np.array([self.index[i["item_id"]] for i in decision["items"]])
            reaction = shopper_reacts(self.world, shopper, items, context_product=product, rng=self.rng)
            examined = self.rng.random(len(items)) < EXAMINE_DECAY ** np.arange(len(items))
            for pos in np.flatnonzero(reaction["click"] & examined):
                item_id = str(self.world.catalog.item_ids[items[pos]])
                events.append(_event("click", shopper, decision_id=decision["decision_id"], item_id=item_id))
                clicked.append(int(items[pos]))
                if reaction["add_to_cart"][pos]:
                    events.append(
                        _event("add_to_cart", shopper, decision_id=decision["decision_id"], item_id=item_id)
                    )
                    cart.append(item_id)
        self._post_events(events)
        self.stats.pages += 1
        self.stats.clicks += len(clicked)
        return clicked

    def _post_events(self, events: list[dict]) -> None:
        status, body = self.client.post("/api/v1/events", {"events": events})
        if status != 202 or body.get("rejected"):
            self.stats.errors.append(f"events {status}: {body}")

    def _checkout(self, shopper: Shopper, cart: list[str]) -> bool:
        """Buy part of the cart; True when something was bought."""
        if not cart:
            return False
        idx = np.array([self.index[i] for i in cart])
        buys = self.rng.random(len(idx)) < self.world.affinity.purchase_given_cart
        if not buys.any():
            return False
        bought = [cart[i] for i in np.flatnonzero(buys)]
        value = float(self.world.catalog.price[idx[buys]].sum())
        self._post_events([_event("purchase", shopper, items=bought, value=round(value, 2))])
        self.stats.purchases += 1
        self.stats.revenue += value
        return True

    def run_session(self, max_pages: int) -> None:
        shopper = shopper_new(self.world, self.rng)
        product = first_product(self.world, shopper, self.rng)
        cart: list[str] = []
        for _ in range(int(self.rng.integers(1, max_pages + 1))):
            clicked = self._page(shopper, product, cart)
            if not clicked:
                break
            product = int(self.rng.choice(clicked))
        if cart:
            self._page(shopper, product, cart, page="cart")
        if self._checkout(shopper, cart):
            self._page(shopper, product, [], page="post_purchase")
        elif self.rng.random() < EMAIL_OPEN_RATE:
            self._email(shopper, product)
        self.stats.sessions += 1

    def _email(self, shopper: Shopper, product: int) -> None:
        """The follow-up email, opened: its slot's items, then a checkout of what it carted."""
        cart: list[str] = []
        self._page(shopper, product, cart, page="email")
        self.stats.emails += 1
        self._checkout(shopper, cart)


def traffic_simulate(
    *,
    world: World,
    client: StorefrontClient,
    sessions: int,
    seed: int,
    max_pages: int = 4,
    every: int = 100,
    on_every: Callable[[TrafficStats], None] | None = None,
    progress=None,
) -> TrafficStats:
    """Run ``sessions`` shopper sessions; call ``on_every`` every ``every`` sessions (e.g. allocate)."""
    stats = TrafficStats()
    simulator = SessionSimulator(world, client, np.random.default_rng(seed), stats)
    for n in itertools.count(1):
        if n > sessions:
            break
        simulator.run_session(max_pages)
        if progress is not None:
            progress.update(1)
        if on_every is not None and n % every == 0:
            on_every(stats)
    return stats
