"""Attribution of outcomes to decisions, as a pure function shared by the update and the recount.

Rules (one place, so the incremental update and a recount from the ledger agree exactly):

- Events count in the ledger's order, (xid, id) (``ledger_order``): not by id alone, because
  on PostgreSQL a later transaction can hold lower ids.
- An exposure (one decision the shopper saw) is revealed by the first ledger event that
  quotes its ``decision_id``, usually the impression; that is one Bernoulli trial for its arm.
- An outcome event quoting a decision is attributed to that decision. A click or
  add-to-cart without one goes to the session's most recent earlier exposure showing the
  item. A purchase goes, per slot, to the most recent earlier exposure showing any
  purchased item, with the revenue share of the matched items.
- Only outcomes within ``window_s`` after the decision was served count, and each
  outcome kind counts once per decision (the reward is Bernoulli per decision).
- In a ``session`` or ``user`` experiment each trial and success also counts for the exposure's
  unit within its arm (``Attribution.units``), for the cluster-robust variance.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field

OUTCOME_FLAG = {"click": "clicked", "add_to_cart": "added_to_cart", "purchase": "purchased"}
OUTCOME_COUNTER = {"click": "clicks", "add_to_cart": "add_to_carts", "purchase": "purchases"}
CLUSTERED_UNITS = ("session", "user")


def exposure_unit(randomization_unit: str | None, *, session_id: str, user_id: str) -> str:
    """The unit an exposure's decisions cluster by: "" for a request experiment (each decision is
    its own unit) or none; the session; for ``user``, the user id, or the session without one
    (as assignment hashes them)."""
    if randomization_unit not in CLUSTERED_UNITS:
        return ""
    if randomization_unit == "user" and user_id:
        return user_id
    return session_id


@dataclass
class ExposureState:
    decision_key: str
    first_event_id: int
    experiment_id: int | None
    arm_id: int | None
    slot_id: int
    session_id: str
    served_at: float
    items: tuple[str, ...]
    clicked: bool = False
    added_to_cart: bool = False
    purchased: bool = False
    revenue: float = 0.0
    changed: bool = False
    allocation_version: int = 0
    unit: str = ""


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    id: int
    type: str
    ts: float
    session_id: str
    item_id: str
    items: tuple[str, ...]
    value: float | None
    decision_key: str


@dataclass
class ArmIncrement:
    trials: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    revenue_sum: float = 0.0
    revenue_sq_sum: float = 0.0
    log_revenue_sum: float = 0.0
    log_revenue_sq_sum: float = 0.0

    def revenue_change(self, old: float, new: float) -> None:
        self.revenue_sum += new - old
        self.revenue_sq_sum += new * new - old * old
        old_log = math.log(old) if old > 0 else 0.0
        new_log = math.log(new) if new > 0 else 0.0
        self.log_revenue_sum += new_log - old_log
        self.log_revenue_sq_sum += new_log * new_log - old_log * old_log


@dataclass
class UnitIncrement:
    trials: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0


@dataclass
class Attribution:
    """Increments per arm, per (arm, allocation version) for the epoch statistics, and per
    (arm, unit) for the units of session and user experiments."""

    increments: dict[int, ArmIncrement] = field(default_factory=lambda: defaultdict(ArmIncrement))
    epochs: dict[tuple[int, int], ArmIncrement] = field(default_factory=lambda: defaultdict(ArmIncrement))
    units: dict[tuple[int, str], UnitIncrement] = field(default_factory=lambda: defaultdict(UnitIncrement))

    def targets(self, exposure: ExposureState) -> tuple[ArmIncrement | UnitIncrement, ...]:
        if exposure.arm_id is None:  # holdout and default serving: no arm to credit
            return ()
        arm = self.increments[exposure.arm_id], self.epochs[(exposure.arm_id, exposure.allocation_version)]
        if not exposure.unit:
            return arm
        return (*arm, self.units[(exposure.arm_id, exposure.unit)])

    def trial(self, exposure: ExposureState) -> None:
        for increment in self.targets(exposure):
            increment.trials += 1


class _SessionIndex:
    """A session's exposures, and where in the events being applied each was revealed: an
    exposure revealed by none of them was revealed earlier in the ledger (an earlier batch)."""

    def __init__(self, exposures: list[ExposureState], position: dict[int, int]) -> None:
        self.position = position
        self.by_session: dict[str, list[ExposureState]] = defaultdict(list)
        for exposure in sorted(exposures, key=lambda x: (x.served_at, x.first_event_id)):
            self.by_session[exposure.session_id].append(exposure)

    def latest_showing(self, event: LedgerEvent, wanted: set[str], window_s: float, skew_s: float):
        """Exposures of the session seen before ``event``, in window, showing a wanted item; newest first."""
        found = []
        at = self.position[event.id]
        for exposure in reversed(self.by_session.get(event.session_id, ())):
            if self.position.get(exposure.first_event_id, -1) >= at:
                continue
            if _in_window(exposure, event, window_s, skew_s) and wanted.intersection(exposure.items):
                found.append(exposure)
        return found


def _in_window(exposure: ExposureState, event: LedgerEvent, window_s: float, skew_s: float) -> bool:
    return -skew_s <= event.ts - exposure.served_at <= window_s


def _credit(attribution: Attribution, exposure: ExposureState, event: LedgerEvent, share: float) -> None:
    flag, counter = OUTCOME_FLAG[event.type], OUTCOME_COUNTER[event.type]
    increments = attribution.targets(exposure)
    if not getattr(exposure, flag):
        setattr(exposure, flag, True)
        exposure.changed = True
        for increment in increments:
            setattr(increment, counter, getattr(increment, counter) + 1)
    if event.type == "purchase" and event.value and share > 0:
        old = exposure.revenue
        exposure.revenue = old + event.value * share
        exposure.changed = True
        for increment in increments:
            if isinstance(increment, ArmIncrement):
                increment.revenue_change(old, exposure.revenue)


def _targets(event: LedgerEvent, exposures, index: _SessionIndex, window_s: float, skew_s: float) -> list:
    if event.decision_key:
        exposure = exposures.get(event.decision_key)
        if exposure is None or not _in_window(exposure, event, window_s, skew_s):
            return []
        return [exposure]
    wanted = set(event.items) | ({event.item_id} if event.item_id else set())
    candidates = index.latest_showing(event, wanted, window_s, skew_s)
    if event.type != "purchase":
        return candidates[:1]
    per_slot: dict[int, ExposureState] = {}
    for exposure in candidates:
        per_slot.setdefault(exposure.slot_id, exposure)
    return list(per_slot.values())


def outcomes_attribute(
    events: list[LedgerEvent],
    exposures: dict[str, ExposureState],
    *,
    window_s: float,
    skew_s: float,
    attribution: Attribution | None = None,
) -> Attribution:
    """Apply ``events`` (in the ledger's order, following every event applied before them) to
    ``exposures`` in place; return the arm increments.

    ``exposures`` must hold every exposure the events quote and every exposure of their
    sessions served within the window; trials are counted by the caller, who knows
    which exposures are new.
    """
    attribution = attribution or Attribution()
    index = _SessionIndex(list(exposures.values()), {event.id: n for n, event in enumerate(events)})
    for event in events:
        if event.type not in OUTCOME_FLAG:
            continue
        purchased = set(event.items) | ({event.item_id} if event.item_id else set())
        for exposure in _targets(event, exposures, index, window_s, skew_s):
            share = 1.0
            if event.type == "purchase":
                share = len(purchased.intersection(exposure.items)) / max(len(purchased), 1)
            _credit(attribution, exposure, event, share)
    return attribution
