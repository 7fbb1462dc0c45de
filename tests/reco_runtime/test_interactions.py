import numpy as np
import pytest

from reco_runtime.errors import RecoError
from reco_runtime.interactions import EVENT_WEIGHTS, Interactions


def test_from_events_weights_types_and_drops_unknown_items(tiny_catalog):
    inter = Interactions.from_events(
        tiny_catalog,
        user_ids=["u1", "u1", "u2", "u2", "u2"],
        item_ids=["p-1", "p-2", "p-1", "ghost", "p-3"],
        types=["view", "purchase", "add_to_cart", "view", "impression"],
        ts=[1.0, 2.0, 3.0, 4.0, 5.0],
    )
    assert len(inter) == 3
    assert inter.user_ids.tolist() == ["u1", "u2"]
    assert inter.weight.tolist() == [
        EVENT_WEIGHTS["view"],
        EVENT_WEIGHTS["purchase"],
        EVENT_WEIGHTS["add_to_cart"],
    ]
    assert inter.item_idx.dtype == np.int32
    assert inter.window == (1.0, 3.0)


def test_from_events_rejects_unknown_types_and_missing_users(tiny_catalog):
    with pytest.raises(RecoError, match="unknown event types"):
        Interactions.from_events(tiny_catalog, ["u"], ["p-1"], ["like"], [0.0])
    with pytest.raises(RecoError, match="user id"):
        Interactions.from_events(tiny_catalog, [None], ["p-1"], ["view"], [0.0])


def test_it_validates_index_ranges():
    with pytest.raises(RecoError, match="item_idx"):
        Interactions(user_idx=[0], item_idx=[5], weight=[1.0], ts=[0.0], user_ids=["u"], n_items=3)


def test_decayed_counts_halve_per_half_life():
    inter = Interactions(
        user_idx=[0, 0], item_idx=[0, 1], weight=[1.0, 1.0], ts=[0.0, 100.0], user_ids=["u"], n_items=2
    )
    counts = inter.decayed_item_counts(half_life_s=100.0)
    np.testing.assert_allclose(counts, [0.5, 1.0])
    np.testing.assert_allclose(inter.decayed_item_counts(half_life_s=float("inf")), [1.0, 1.0])


def test_split_temporal_holds_out_each_users_last_fifth():
    n = 10
    inter = Interactions(
        user_idx=[0] * n + [1] * 3,
        item_idx=list(range(n)) + [0, 1, 2],
        weight=[1.0] * (n + 3),
        ts=list(range(n, 0, -1)) + [5.0, 6.0, 7.0],
        user_ids=["a", "b"],
        n_items=n,
    )
    train, test = inter.split_temporal(holdout=0.2)
    assert sorted(test.item_idx[test.user_idx == 0].tolist()) == [0, 1]  # latest ts are items 0, 1
    assert test.item_idx[test.user_idx == 1].tolist() == [2]
    assert len(train) + len(test) == len(inter)
    assert train.ts[train.user_idx == 0].max() < test.ts[test.user_idx == 0].min()
