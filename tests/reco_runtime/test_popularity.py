import numpy as np
import pytest

from reco_runtime.errors import RecoError
from reco_runtime.models import Popularity
from reco_runtime.request import RecRequest


def test_it_ranks_the_recent_bestseller_first(tiny_catalog, tiny_interactions):
    model = Popularity(half_life_days=7.0).fit(tiny_interactions, tiny_catalog)
    items, scores = model.recommend(RecRequest(k=3))
    assert items[0] == 0
    assert np.all(np.diff(scores) <= 0)
    # item 9 sold 8 times 90 days ago: decayed to nothing, below the recent items.
    assert 9 not in items


def test_without_decay_old_sales_count_fully(tiny_catalog, tiny_interactions):
    model = Popularity(half_life_days=float("inf")).fit(tiny_interactions, tiny_catalog)
    items, _ = model.recommend(RecRequest(k=10))
    assert items.tolist().index(9) < items.tolist().index(5)


def test_category_scope_serves_the_products_category_then_backfills(tiny_catalog, tiny_interactions):
    model = Popularity(scope="category").fit(tiny_interactions, tiny_catalog)
    items, scores = model.recommend(RecRequest(k=6, product=6))
    assert set(items[:3].tolist()) <= {5, 6, 7, 8, 9}
    assert len(items) == 6
    assert len(set(items.tolist())) == 6
    assert np.all(np.diff(scores) <= 0)


def test_it_rejects_bad_params():
    with pytest.raises(RecoError):
        Popularity(scope="planet")
    with pytest.raises(RecoError, match="known"):
        Popularity(halflife=3)
