"""Category paths: "top in Sneakers" back-fills from "Shoes", then "Women", before the whole shop."""

import json

import numpy as np
import pytest

from reco_runtime.catalog import Catalog
from reco_runtime.errors import ArtifactError, RecoError
from reco_runtime.models import ALGORITHMS
from reco_runtime.models.base import Recommender
from reco_runtime.request import RecRequest
from tests.reco_runtime.conftest import DAY, T0, make_interactions

# Codes of categories holding items first, then the levels above them.
NAMES = ["Women > Shoes > Sneakers", "Women > Shoes > Boots", "Women > Bags", "Men", "Women > Shoes", "Women"]
PARENT = [4, 4, 5, -1, 5, -1]
# items 0-1 sneakers, 2-4 boots, 5-7 bags, 8-11 men's (the shop's bestsellers)
CATEGORY = [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]


def tree_catalog(parent=PARENT, names=NAMES) -> Catalog:
    n = len(CATEGORY)
    return Catalog(
        item_ids=np.array([f"i-{i}" for i in range(n)]),
        category=np.array(CATEGORY),
        brand=np.zeros(n, dtype=np.int32),
        price=np.full(n, 10.0),
        created_at=np.full(n, T0 - 100 * DAY),
        titles=np.array([f"item {i}" for i in range(n)]),
        category_parent=None if parent is None else np.array(parent),
        category_names=None if names is None else np.array(names),
    )


def interactions(catalog):
    # Popularity grows with the index, so men's items top the shop and each list is in reverse.
    rows = [(f"u{u}", i, 1.0, T0 - u) for i in range(catalog.n_items) for u in range(i + 1)]
    return make_interactions(catalog, rows)


def top_in_category(catalog):
    return ALGORITHMS["popularity"](scope="category").fit(interactions(catalog), catalog)


def test_a_short_leaf_list_is_backfilled_from_the_parent_then_the_grandparent():
    catalog = tree_catalog()
    model = top_in_category(catalog)
    items, scores = model.recommend(RecRequest(k=7, product=0))
    # the other sneaker, then boots (Shoes), then bags (Women); never the men's bestsellers
    assert items.tolist() == [1, 4, 3, 2, 7, 6, 5]
    assert np.all(np.diff(scores) < 0)
    more, _ = model.recommend(RecRequest(k=9, product=0))
    assert more.tolist()[7:] == [11, 10]  # the whole shop only after every level ran out


def test_without_a_tree_the_leaf_is_backfilled_from_the_whole_shop():
    model = top_in_category(tree_catalog(parent=None, names=None))
    items, _ = model.recommend(RecRequest(k=3, product=0))
    assert items.tolist() == [1, 11, 10]


def test_a_model_of_the_tree_survives_save_and_load(tmp_path):
    catalog = tree_catalog()
    top_in_category(catalog).save(tmp_path / "m")
    catalog.save(tmp_path / "c")
    loaded_catalog = Catalog.load(tmp_path / "c")
    assert loaded_catalog.category_names.tolist() == NAMES
    assert loaded_catalog.fingerprint() == catalog.fingerprint()
    model = Recommender.load(tmp_path / "m", loaded_catalog)
    items, _ = model.recommend(RecRequest(k=4, product=5))
    assert items.tolist() == [7, 6, 4, 3]  # bags, then the rest of Women: boots before sneakers


def test_a_catalog_saved_before_the_tree_loads_flat_with_its_hash(tmp_path):
    flat = tree_catalog(parent=None, names=None)
    flat.save(tmp_path / "c")
    for name in ("category_parent", "category_names"):
        (tmp_path / "c" / f"{name}.npy").unlink()
    meta = json.loads((tmp_path / "c" / "catalog.json").read_text())
    (tmp_path / "c" / "catalog.json").write_text(json.dumps({**meta, "format": 1}))
    loaded = Catalog.load(tmp_path / "c")
    assert loaded.category_parent.tolist() == [-1, -1, -1, -1]
    assert loaded.fingerprint() == flat.fingerprint()
    (tmp_path / "c" / "catalog.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(ArtifactError, match="format 99"):
        Catalog.load(tmp_path / "c")


@pytest.mark.parametrize(
    ("parent", "message"),
    [([4, 4, 5, -1, 5, 9], "codes of categories"), ([4, 4, 5, -1, 5, 4], "cycle"), ([4, 4, 5], "one entry")],
)
def test_a_broken_tree_is_refused(parent, message):
    with pytest.raises(RecoError, match=message):
        tree_catalog(parent=parent, names=NAMES[: len(parent)])
