"""The embedded default runs tasks eagerly and must not talk about a broker it does not have."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A task sent in eager mode still builds a producer; without a broker host kombu printed
# "No hostname was supplied. Reverting to default 'localhost'".
SCRIPT = """
import django
django.setup()
from django.conf import settings
from controlplane.celery import app
assert settings.CELERY_TASK_ALWAYS_EAGER
with app.connection_for_write() as connection:
    connection.info()
"""


def test_the_embedded_default_names_a_broker_host_so_kombu_does_not_warn(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "controlplane.settings", "VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "hostname" not in done.stderr.lower()
