"""The legacy customer cohorts: 12 buckets used by the ``cohort_bestsellers`` baseline.

Known users fall into a cohort by a stable hash of their id (the same in every process and
release, unlike Python's salted ``hash``); anonymous sessions by their device.
"""

from __future__ import annotations

import hashlib

N_COHORTS = 12
DEVICE_COHORTS: dict[str, int] = {"mobile": 0, "desktop": 1, "tablet": 2}


def cohort_of(user_id: str | None, device: str | None = None) -> int:
    """Cohort 0..N_COHORTS-1: blake2b(user_id) mod 12, or by device for anonymous (unknown -> 0)."""
    if user_id:
        digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") % N_COHORTS
    return DEVICE_COHORTS.get(device or "", 0)
