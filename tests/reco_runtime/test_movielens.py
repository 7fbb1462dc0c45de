"""MovieLens-100k: the converter (on a fake wheel) and the evaluate CLI (skips without the data).

Point ``MOVIELENS_DIR`` at a folder with u.data and u.item (default ``<repo>/var/ml-100k``, made by
``python -m reco_runtime.movielens_fetch var/ml-100k``).
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from reco_runtime.movielens import read_movielens
from reco_runtime.movielens_fetch import PREFIX, convert

REPO = Path(__file__).resolve().parents[2]
MOVIELENS_DIR = Path(os.environ.get("MOVIELENS_DIR", REPO / "var" / "ml-100k"))
needs_movielens = pytest.mark.skipif(
    not (MOVIELENS_DIR / "u.data").is_file(), reason=f"MovieLens-100k not found in {MOVIELENS_DIR}"
)


def test_converter_writes_the_original_layout(tmp_path):
    wheel = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(
            PREFIX + "ml-100k.inter",
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
        )
        zf.writestr(
            PREFIX + "ml-100k.item",
            "item_id:token\tmovie_title:token_seq\trelease_year:token\t"
            "class:token_seq\n242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir\n",
        )
    convert(wheel, tmp_path / "ml")
    assert (tmp_path / "ml" / "u.data").read_text().splitlines()[0] == "196\t242\t3\t881250949"
    catalog, interactions = read_movielens(tmp_path / "ml")
    assert catalog.item_ids.tolist() == ["242", "302"]
    assert catalog.titles[1] == "L.A. Confidential (1997) Crime Film-Noir"
    assert len(interactions) == 2
    assert interactions.n_users == 2


@needs_movielens
def test_evaluate_cli_prints_one_json_object_per_variant():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "reco_runtime.evaluate",
            "--movielens",
            str(MOVIELENS_DIR),
            "--k",
            "10",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=300,
    )
    rows = json.loads(out.stdout)
    assert isinstance(rows, list)
    assert {r["variant"] for r in rows} >= {"popularity", "cohort_bestsellers", "item_knn", "als", "hybrid"}
    for r in rows:
        assert set(r) == {"variant", "recall", "ndcg", "coverage", "train_s"}
        assert 0 <= r["recall"] <= 1
        assert 0 <= r["ndcg"] <= 1
        assert 0 < r["coverage"] <= 1
        assert r["train_s"] >= 0
    ndcg = {r["variant"]: r["ndcg"] for r in rows}
    # the acceptance figure: the best personalised variant >= 1.3x popularity
    assert max(ndcg[v] for v in ("item_knn", "als", "session_bayes", "hybrid")) >= 1.3 * ndcg["popularity"]
