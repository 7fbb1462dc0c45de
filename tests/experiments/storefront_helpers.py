"""Helpers that act like the storefront: ask for decisions, post what the shopper did."""

import uuid
from datetime import UTC, datetime


def event(kind: str, session_id: str = "s-1", **fields) -> dict:
    return {
        "event_id": fields.pop("event_id", f"e-{uuid.uuid4().hex}"),
        "type": kind,
        "ts": fields.pop("ts", datetime.now(UTC).isoformat()),
        "session_id": session_id,
        **fields,
    }


# A product of every synthetic catalog. A product page's request carries its product: without one,
# slots whose variant needs it (item_knn, content, category popularity) are served their fallback.
PRODUCT_ID = "p-0"


def decisions_for(api, session_id: str = "s-1", **body) -> list[dict]:
    """The served decisions of a request on the page of ``PRODUCT_ID`` unless ``context`` is given."""
    body.setdefault("context", {"product_id": PRODUCT_ID})
    response = api.post("/api/v1/assignments", {"session_id": session_id, **body}, format="json")
    assert response.status_code == 200, response.content
    return [d for d in response.json()["decisions"] if "error" not in d]


def events_post(api, events: list[dict]):
    return api.post("/api/v1/events", {"events": events}, format="json")


def traffic_post(api, catalog, rng, *, sessions: int, clicks_per_page: float = 0.5) -> int:
    """Sessions that see 12 slots, post impressions, clicks, carts and an anonymous-checkout purchase.

    Returns the number of events posted. Some impressions are sent twice (a retry) on purpose.
    """
    posted = 0
    for n in range(sessions):
        session_id = f"s-{n}-{rng.integers(1_000_000)}"
        product = str(catalog.item_ids[rng.integers(len(catalog.item_ids))])
        decisions = decisions_for(api, session_id=session_id, context={"product_id": product}, k=4)
        batch, cart = [], []
        for decision in decisions:
            batch.append(event("impression", session_id, decision_id=decision["decision_id"]))
            for item in decision["items"]:
                if rng.random() < clicks_per_page / 12:
                    batch.append(
                        event(
                            "click", session_id, decision_id=decision["decision_id"], item_id=item["item_id"]
                        )
                    )
                    if rng.random() < 0.5:
                        batch.append(event("add_to_cart", session_id, item_id=item["item_id"]))
                        cart.append(item["item_id"])
        if cart:
            batch.append(event("purchase", session_id, items=cart, value=float(rng.integers(5, 200))))
        response = events_post(api, batch)
        assert response.status_code == 202, response.content
        assert not response.json()["rejected"], response.content
        resent = events_post(api, batch[:3])
        assert resent.json()["duplicates"] == 3, resent.content
        posted += len(batch)
    return posted
