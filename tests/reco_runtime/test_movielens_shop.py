"""MovieLens-100k written as a shop's catalog and history files (the import formats)."""

import csv
import json

import pytest

from reco_runtime.errors import RecoError
from reco_runtime.movielens import GENRES
from reco_runtime.movielens_shop import main, shop_files_write


def _flags(*genres: str) -> str:
    return "|".join("1" if g in genres else "0" for g in GENRES)


@pytest.fixture
def movielens(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    toy_story = _flags("Animation", "Children's", "Comedy")
    (folder / "u.item").write_text(
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{toy_story}\n"
        f"267|unknown||||{_flags('unknown')}\n",
        encoding="latin-1",
    )
    (folder / "u.data").write_text("196\t1\t5\t881250949\n196\t267\t3\t881250950\n", encoding="latin-1")
    return folder


def test_films_become_items_with_their_genres_as_the_category_path(movielens, tmp_path):
    written = shop_files_write(movielens, tmp_path / "shop")
    rows = [json.loads(line) for line in written.catalog.read_text().splitlines()]
    toy_story, unknown = rows
    assert toy_story["item_id"] == "1"
    assert toy_story["title"] == "Toy Story"
    assert toy_story["category"] == "Animation > Children's > Comedy"
    assert toy_story["attributes"]["year"] == 1995
    assert toy_story["attributes"]["genres"] == ["Animation", "Children's", "Comedy"]
    assert toy_story["created_at"] == "1995-01-01T00:00:00Z"
    assert unknown["category"] == "Unknown genre"  # never an empty path
    assert written.items == 2


def test_four_or_five_stars_are_purchases_the_rest_views(movielens, tmp_path):
    written = shop_files_write(movielens, tmp_path / "shop")
    with written.interactions.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["item_id"], r["type"], r["value"]) for r in rows] == [
        ("1", "purchase", "3.99"),
        ("267", "view", ""),
    ]
    assert rows[0]["user_id"] == "u196"
    assert rows[0]["session_id"] == rows[1]["session_id"] == "u196-19971204"
    assert rows[0]["ts"] == "1997-12-04T15:55:49Z"
    assert rows[0]["event_id"] == "ml-196-1"  # stable: a second import adds nothing


def test_a_folder_without_movielens_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(RecoError, match="has no u.data"):
        shop_files_write(tmp_path, tmp_path / "shop")
    assert main([str(tmp_path), str(tmp_path / "shop")]) == 2
    assert "make movielens" in capsys.readouterr().err
