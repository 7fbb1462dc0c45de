"""The README's storefront examples work when pasted into a shell: run with bash and curl against
a live server, the assignment is answered and the event quoting its decision is accepted."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.services.storefront_keys import storefront_key_create

README = Path(__file__).resolve().parents[3] / "README.md"

# The README's REST API example as it should read: the event's timestamp is generated (a fixed one
# is rejected too_old once it is older than EVENT_MAX_AGE_S) and its decision_id is taken from
# the assignment's answer.


def storefront_examples(markdown: str) -> str:
    """The shell lines of the first bash block under '## REST API', up to the analysts' part
    (which needs a logged-in session's cookies)."""
    section = re.split(r"^## REST API$", markdown, maxsplit=1, flags=re.MULTILINE)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return block.split("# analysts", 1)[0]


def examples_run(script: str, *, base_url: str, key: str, workdir: Path) -> list:
    """Run the examples with bash; return the JSON documents they printed, in order."""
    # The key line runs manage.py on the demo's database; the test's own key stands in for it.
    script = re.sub(r"^KEY=.*$", "", script, flags=re.MULTILINE)
    script = script.replace("http://127.0.0.1:8000", base_url).replace(".venv/bin/python", sys.executable)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={"PATH": "/usr/bin:/bin", "KEY": key},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    decoder, out, documents = json.JSONDecoder(), done.stdout.strip(), []
    while out:
        document, end = decoder.raw_decode(out)
        documents.append(document)
        out = out[end:].strip()
    return documents


def _check(markdown: str, live_server, tmp_path: Path) -> None:
    key = storefront_key_create(name="readme")[1]
    documents = examples_run(
        storefront_examples(markdown), base_url=live_server.url, key=key, workdir=tmp_path
    )
    assignment, events = documents[0], documents[-1]
    assert len(assignment["decisions"]) == 12
    assert all(d["items"] and not d["fallback"] for d in assignment["decisions"]), assignment
    assert events == {"accepted": 1, "duplicates": 0, "rejected": []}


@pytest.mark.django_db(transaction=True)
def test_the_readme_examples_work_when_pasted(storefront, live_server, tmp_path):
    _check(README.read_text(), live_server, tmp_path)
