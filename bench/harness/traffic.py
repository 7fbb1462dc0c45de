"""The storefront's requests: shoppers with session signals, product pages, event batches, and
sequential probes that check every slot is served by its model."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.harness import BenchError
from bench.harness.report import percentile

PRODUCT_SLOTS = 12
PAGES_FOR_EVENTS = 60  # pages whose decisions the event batches quote
EVENT_TEMPLATES = 16
BATCH_BYTES_MAX = 1_000_000


def compact(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def http_post(base: str, path: str, key: str, body: dict, timeout: float = 30.0) -> tuple[int, dict]:
    """One JSON POST with the storefront key; (status, answer)."""
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def shopper_events(session: str, items: list[str], rng: random.Random, ts: str) -> list[dict]:
    """One shopper's signals: 3-6 views with dwell 1-90 s, an add-to-cart of the last item seen,
    and for one shopper in five its removal (so the session models have real work)."""
    viewed = rng.sample(items, rng.randint(3, 6))
    base = {"session_id": session, "ts": ts}
    events = [base | {"type": "view", "item_id": i, "dwell_ms": rng.randint(1_000, 90_000)} for i in viewed]
    events.append(base | {"type": "add_to_cart", "item_id": viewed[-1]})
    if rng.random() < 0.2:
        events.append(base | {"type": "remove_from_cart", "item_id": viewed[-1]})
    return events


def sessions_prime(base: str, key: str, items: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` shoppers with signals, posted through the events endpoint; their session ids."""
    ts = datetime.now(UTC).isoformat()
    run = uuid.uuid4().hex[:6]
    sessions, batch = [], []
    for s in range(n):
        session = f"bench-shop-{run}-{s}"
        sessions.append(session)
        batch += [
            e | {"event_id": f"bench-prime-{uuid.uuid4().hex}"}
            for e in shopper_events(session, items, rng, ts)
        ]
        if len(batch) >= 450 or s == n - 1:
            status, answer = http_post(base, "/api/v1/events", key, {"events": batch})
            if status != 202 or answer.get("rejected"):
                raise BenchError(f"priming sessions: {status} {answer}")
            batch = []
    return sessions


def signals_prime(items: list[str], n: int, rng: random.Random) -> list[str]:
    """Sessions ``prof-0 .. prof-{n-1}`` get ``shopper_events`` straight into the session store
    (in process, with Django set up); their session ids."""
    from experiments.serving.session_store import signals_update

    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sessions = [f"prof-{s}" for s in range(n)]
    events = [e for session in sessions for e in shopper_events(session, items, rng, ts)]
    for start in range(0, len(events), 500):
        signals_update(events[start : start + 500])
    return sessions


def page_bodies(
    sessions: list[str], items: list[str], rng: random.Random, *, slots: list[str] | None
) -> list[bytes]:
    """One assignment body per session, on a random catalog product, shuffled; ``slots`` None
    asks for the whole product page, ``[]`` for no slot (the storefront floor)."""
    bodies = []
    for session in sessions:
        body: dict = {"session_id": session, "context": {"product_id": rng.choice(items)}}
        if slots is not None:
            body["slots"] = slots
        bodies.append(compact(body))
    rng.shuffle(bodies)
    return bodies


@dataclass
class Page:
    session_id: str
    product_id: str
    decision_ids: list[str]

    @classmethod
    def from_answer(cls, body: dict, answer: dict) -> Page:
        good = [d["decision_id"] for d in answer["decisions"] if "error" not in d]
        return cls(body["session_id"], body["context"]["product_id"], good)


@dataclass
class Probe:
    """Sequential (unloaded) requests: client round trip and the server's own served_in_ms."""

    requests: int = 0
    client_ms: list[float] = field(default_factory=list)
    served_ms: list[float] = field(default_factory=list)
    decisions: int = 0
    fallbacks: int = 0
    slot_errors: int = 0
    variants: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float | None:
            value = percentile(values, q)
            return None if value is None else round(value, 2)

        return {
            "requests": self.requests,
            "client_p50_ms": pct(self.client_ms, 50),
            "client_p99_ms": pct(self.client_ms, 99),
            "served_in_ms_p50": pct(self.served_ms, 50),
            "served_in_ms_p99": pct(self.served_ms, 99),
            "decisions": self.decisions,
            "fallbacks": self.fallbacks,
            "slot_errors": self.slot_errors,
        }

    @property
    def every_slot_served(self) -> bool:
        return self.decisions == PRODUCT_SLOTS * self.requests and not self.fallbacks


def probe_assignments(
    base: str, key: str, bodies: list[bytes], n: int, pages: list[Page] | None = None
) -> Probe:
    """``n`` sequential assignment requests: timings, decisions, fallbacks and the variants that
    served them; with ``pages``, each page's decisions are appended for event batches to quote."""
    probe = Probe()
    for raw in bodies[:n]:
        body = json.loads(raw)
        started = time.perf_counter()
        status, answer = http_post(base, "/api/v1/assignments", key, body)
        probe.client_ms.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"assignments answered {status}: {answer}")
        probe.requests += 1
        probe.served_ms.append(float(answer.get("served_in_ms", 0.0)))
        good = [d for d in answer["decisions"] if "error" not in d]
        probe.slot_errors += len(answer["decisions"]) - len(good)
        probe.decisions += len(good)
        probe.fallbacks += sum(1 for d in good if d["fallback"])
        for decision in good:
            name = "FALLBACK" if decision["fallback"] else str(decision.get("variant"))
            probe.variants[name] = probe.variants.get(name, 0) + 1
        if pages is not None:
            pages.append(Page.from_answer(body, answer))
    return probe


def event_templates(pages: list[Page], batch: int, rng: random.Random) -> list[bytes]:
    """Batches of ``batch`` events: per page one view and one impression per decision.

    Every event_id holds the placeholder ``@RUN@``, replaced per request by a unique tag, so
    each batch is new to the ledger (the idempotency check still runs: it is a unique index).
    """
    ts = datetime.now(UTC).isoformat()
    templates = []
    for t in range(EVENT_TEMPLATES):
        events: list[dict] = []
        order = rng.sample(range(len(pages)), len(pages))
        while len(events) < batch:
            for p in order:
                page = pages[p]
                view = {"type": "view", "item_id": page.product_id, "dwell_ms": rng.randint(500, 90_000)}
                for fields in [view] + [{"type": "impression", "decision_id": d} for d in page.decision_ids]:
                    events.append(
                        {
                            "event_id": f"bench-@RUN@-{t}-{len(events)}",
                            "ts": ts,
                            "session_id": page.session_id,
                        }
                        | fields
                    )
                if len(events) >= batch:
                    break
        templates.append(compact({"events": events[:batch]}))
    largest = max(len(t) for t in templates)
    if largest > BATCH_BYTES_MAX:
        raise BenchError(f"an events batch of {batch} is {largest} bytes, over the 1 MB limit")
    return templates


def jsonl(bodies: list[bytes]) -> bytes:
    """Bodies one per line, as the load generators read them."""
    return b"\n".join(bodies) + b"\n"
