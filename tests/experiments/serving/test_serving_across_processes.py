"""The embedded default with two processes: a running server and a command beside it.

No Redis: each process has its own in-memory cache, so the server must learn of the command's
changes from the database, within ``SERVING_REFRESH_S``.
"""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.experiments.faults.service_processes import REPO, HttpStorefront, web_server

REFRESH_S = 1.0
# Time for the server to reload its state (a few queries, the models are already loaded) and for
# the poll to notice, on a loaded two-core machine.
MARGIN_S = 2.0
SERVICES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_QUEUE", "CACHE_KEY_PREFIX")

# The processes it starts run the embedded default whatever this run's services are: once is enough.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="embedded default only; it runs in the embedded pass"
)


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICES and not k.startswith("PYTEST")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "VAR_DIR": str(var_dir),
        "MODEL_ROOT": str(var_dir / "models"),
        "SERVING_REFRESH_S": str(REFRESH_S),
    }
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def _allocation_version(storefront: HttpStorefront, slot: str) -> int | None:
    """The allocation version the server signed into its decision for ``slot`` (None when refused)."""
    # A product the catalog knows: without one, an arm whose variant needs the product falls back
    # (allocation version 0), and which arm the session hashes to depends on the experiment's salt.
    body = {"session_id": "s-1", "slots": [slot], "context": {"product_id": "p-0"}}
    response = storefront.post("/api/v1/assignments", body)
    if response.status_code != 200:
        return None
    token = response.json()["decisions"][0]["decision_id"]
    encoded = token.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert not response.json()["decisions"][0]["fallback"], response.json()
    return payload[4]


def _seconds_until(condition, timeout_s: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not seen within {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_running_server_sees_a_key_and_allocations_made_by_a_command(tmp_path):
    env = _embedded_env(tmp_path)
    _manage(env, "migrate", "--verbosity", "0")
    build = "from tests.experiments.conftest import storefront_build; storefront_build(n_items=200)"
    _manage(env, "shell", "--no-imports", "-c", build)
    first_key = _manage(env, "create_storefront_key", "first").strip().splitlines()[-1]

    with web_server(env, tmp_path / "web.log") as server:
        first = HttpStorefront(server, first_key)
        version = _allocation_version(first, "pdp_similar")
        assert version is not None, server.log_tail()

        new_key = _manage(env, "create_storefront_key", "made-while-serving").strip().splitlines()[-1]
        recompute = "from experiments.services.allocations import allocations_recompute as r; print(r())"
        assert int(_manage(env, "shell", "--no-imports", "-c", recompute).strip()) >= 1
        changed_at = time.monotonic()

        second = HttpStorefront(server, new_key)
        waited_for_key = _seconds_until(lambda: _allocation_version(second, "pdp_similar") is not None, 30)
        waited_for_version = _seconds_until(lambda: _allocation_version(first, "pdp_similar") > version, 30)
        total = time.monotonic() - changed_at
        assert total <= REFRESH_S + MARGIN_S, (waited_for_key, waited_for_version, server.log_tail())
