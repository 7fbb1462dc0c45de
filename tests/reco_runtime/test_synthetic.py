import numpy as np

from reco_runtime.synthetic import click_logits, shopper_browse, shopper_new, shopper_reacts, world_generate


def test_same_seed_same_world():
    a = world_generate(n_items=200, n_users=50, n_categories=5, n_brands=10, dim=4, seed=1)
    b = world_generate(n_items=200, n_users=50, n_categories=5, n_brands=10, dim=4, seed=1)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)
    assert a.catalog.fingerprint() == b.catalog.fingerprint()


def test_history_is_well_formed(small_world, small_log, small_interactions):
    user_ids, item_ids, types, ts = small_log
    assert len(user_ids) == len(item_ids) == len(types) == len(ts) > 10_000
    assert set(types) == {"view", "add_to_cart", "purchase"}
    assert ts.max() <= small_world.t_end
    session_user = dict(zip(small_log.session_ids, user_ids, strict=True))
    anonymous = np.mean([u.startswith("anon-") for u in session_user.values()])
    assert 0.1 < anonymous < 0.5
    # new items are cold: never in the history
    assert not small_world.is_new[small_interactions.item_idx].any()
    assert small_world.is_new.any()


def test_history_browsing_follows_intent(small_world, small_log):
    cat = small_world.catalog.category
    idx = small_world.catalog.indices_of(small_log.item_ids)
    sessions = np.asarray(small_log.session_ids)
    same = [len(set(cat[idx[sessions == s]].tolist())) for s in np.unique(sessions)[:300]]
    assert np.mean(same) < 2.5  # a session stays in one or two categories


def test_shoppers_react_to_affinity_not_to_model_names(small_world):
    rng = np.random.default_rng(0)
    known = anonymous = 0
    ctr_best, ctr_pop = [], []
    top_pop = np.argsort(-small_world.item_popularity)[:10]
    for _ in range(400):
        s = shopper_new(small_world, rng)
        known += s.user_id is not None
        anonymous += s.user_id is None
        product = shopper_browse(small_world, s, rng)
        logits = click_logits(small_world, s, np.arange(small_world.catalog.n_items), context_product=product)
        best = np.argsort(-logits)[:10]
        ctr_best.append(
            shopper_reacts(small_world, s, best, context_product=product, rng=rng)["p_click"].mean()
        )
        out = shopper_reacts(small_world, s, top_pop, context_product=product, rng=rng)
        ctr_pop.append(out["p_click"].mean())
        assert np.all(out["add_to_cart"] <= out["click"])
        assert np.all(out["purchase"] <= out["add_to_cart"])
        assert np.all((out["revenue"] > 0) == out["purchase"])
    assert 0.15 < anonymous / 400 < 0.42
    assert 0.005 < np.mean(ctr_pop) < 0.04
    assert np.mean(ctr_best) > 3 * np.mean(ctr_pop)
