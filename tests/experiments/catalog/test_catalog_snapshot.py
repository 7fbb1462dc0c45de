"""The runtime catalog from the Item table, and the demo's catalog going in through the file door."""

import numpy as np
import pytest

from experiments.models import Item
from experiments.selectors.catalog_snapshot import catalog_snapshot
from experiments.services.demo_world import _items_store, demo_catalog_path
from reco_runtime.synthetic import world_generate
from tests.factories import ItemFactory


@pytest.mark.django_db
def test_category_paths_become_a_tree_with_every_level():
    ItemFactory(item_id="a", category="Women > Shoes > Sneakers")
    ItemFactory(item_id="b", category="Women > Shoes > Boots")
    ItemFactory(item_id="c", category="Women > Shoes")
    ItemFactory(item_id="d", category="Men")
    catalog = catalog_snapshot()
    names = catalog.category_names.tolist()
    assert names == ["Men", "Women > Shoes", "Women > Shoes > Boots", "Women > Shoes > Sneakers", "Women"]
    assert catalog.n_categories == 4
    assert catalog.n_category_nodes == 5
    parent = {
        names[c]: (names[p] if p >= 0 else None) for c, p in enumerate(catalog.category_parent.tolist())
    }
    assert parent == {
        "Men": None,
        "Women": None,
        "Women > Shoes": "Women",
        "Women > Shoes > Boots": "Women > Shoes",
        "Women > Shoes > Sneakers": "Women > Shoes",
    }
    assert [names[c] for c in catalog.category.tolist()] == [
        "Women > Shoes > Sneakers",
        "Women > Shoes > Boots",
        "Women > Shoes",
        "Men",
    ]


@pytest.mark.django_db
def test_the_demo_catalog_is_imported_from_a_file_and_keeps_the_worlds_categories():
    world = world_generate(n_items=300, n_users=20, n_categories=8, n_brands=30, seed=3)
    ItemFactory(item_id="from-an-earlier-demo", available=True)
    _items_store(world)
    assert demo_catalog_path().read_text().startswith("item_id,title,category,brand,price")
    kettle = Item.objects.get(item_id=str(world.catalog.item_ids[0]))
    assert kettle.category.count(" > ") == 2
    assert kettle.brand
    assert not kettle.brand.startswith("Brand")
    assert kettle.available
    assert kettle.currency == "USD"
    assert not Item.objects.get(item_id="from-an-earlier-demo").available
    catalog = catalog_snapshot()
    ours = catalog.indices_of(world.catalog.item_ids.tolist())
    # one leaf path per world category, both ways
    pairs = set(zip(world.catalog.category.tolist(), catalog.category[ours].tolist(), strict=True))
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs}) == 8
    assert catalog.has_category_tree
    assert np.allclose(catalog.price[ours], np.round(world.catalog.price, 2), atol=0.006)
