"""Each variant on the tiny hand-made log returns the items it obviously should."""

import numpy as np

from reco_runtime.models import Als, CohortBestsellers, Content, Hybrid, ItemKnn, SessionBayes
from reco_runtime.request import RecRequest, SessionSignals

from .conftest import T0, make_interactions


def test_item_knn_returns_the_item_always_bought_with_the_product(tiny_catalog, tiny_interactions):
    model = ItemKnn().fit(tiny_interactions, tiny_catalog)
    items, scores = model.recommend(RecRequest(k=3, product=0))
    assert items[0] == 7
    assert 0 not in items  # never the page's own product
    together = ItemKnn(min_weight=4.0).fit(tiny_interactions, tiny_catalog)
    items, _ = together.recommend(RecRequest(k=3, product=7))
    assert items[0] == 0


def test_item_knn_backfills_with_bestsellers_when_it_has_no_seeds(tiny_catalog, tiny_interactions):
    model = ItemKnn().fit(tiny_interactions, tiny_catalog)
    items, scores = model.recommend(RecRequest(k=4))
    assert items[0] == 0
    assert len(items) == 4
    assert np.all(np.diff(scores) <= 0)


def test_cohort_bestsellers_serve_each_cohort_its_own_list(tiny_catalog):
    from reco_runtime.cohorts import cohort_of

    u0 = next(f"x{i}" for i in range(1000) if cohort_of(f"x{i}") == 0)
    u1 = next(f"x{i}" for i in range(1000) if cohort_of(f"x{i}") == 1)
    rows = [(u0, 1, 8.0, T0), (u0, 2, 1.0, T0), (u1, 5, 8.0, T0), (u1, 6, 1.0, T0)]
    model = CohortBestsellers().fit(make_interactions(tiny_catalog, rows), tiny_catalog)
    assert model.recommend(RecRequest(k=1, user_id=u0))[0].tolist() == [1]
    assert model.recommend(RecRequest(k=1, user_id=u1))[0].tolist() == [5]
    assert model.recommend(RecRequest(k=1, cohort=1))[0].tolist() == [5]
    assert model.recommend(RecRequest(k=1, device="desktop"))[0].tolist() == [5]  # anonymous desktop -> 1


def test_cohort_bestsellers_forget_sales_outside_the_window(tiny_catalog, tiny_interactions):
    recent = CohortBestsellers(window_days=30).fit(tiny_interactions, tiny_catalog)
    everything = CohortBestsellers(window_days=float("inf")).fit(tiny_interactions, tiny_catalog)
    assert 9 not in recent.lists.items
    assert 9 in everything.lists.items


def test_als_folds_in_a_session_and_serves_known_users(tiny_catalog, tiny_interactions):
    model = Als(factors=4, iterations=20, regularization=0.01).fit(tiny_interactions, tiny_catalog)
    items, _ = model.recommend(RecRequest(k=2, signals=SessionSignals(viewed=((5, 0.0),)), exclude={5}))
    assert items[0] == 6
    items, _ = model.recommend(RecRequest(k=2, user_id="a0", exclude=frozenset({0, 7})))
    assert set(items.tolist()) == {1, 2}


def test_session_bayes_serves_the_category_of_the_first_page_view(tiny_catalog, tiny_interactions):
    model = SessionBayes().fit(tiny_interactions, tiny_catalog)
    cold, _ = model.recommend(RecRequest(k=2))
    assert cold[0] == 0  # no signal at all: the prior, i.e. the bestseller
    items, _ = model.recommend(RecRequest(k=3, product=5))
    assert tiny_catalog.category[items[0]] == 1  # the bestseller of the page's category
    assert sum(tiny_catalog.category[i] == 1 for i in items) > sum(
        tiny_catalog.category[i] == 1 for i in cold
    )


def _rank(items, item):
    return items.tolist().index(item) if item in items else len(items)


def test_session_bayes_moves_toward_a_long_dwell_view(tiny_catalog, tiny_interactions):
    model = SessionBayes().fit(tiny_interactions, tiny_catalog)
    base = dict(k=10, product=1)  # on a category-0 page
    short = model.recommend(RecRequest(**base, signals=SessionSignals(viewed=((8, 800.0),))))
    long = model.recommend(RecRequest(**base, signals=SessionSignals(viewed=((8, 90_000.0),))))
    theta_short = model.category_posterior(RecRequest(**base, signals=SessionSignals(viewed=((8, 800.0),))))
    theta_long = model.category_posterior(RecRequest(**base, signals=SessionSignals(viewed=((8, 90_000.0),))))
    assert theta_long[1] > theta_short[1]
    cat1 = [i for i in range(10) if tiny_catalog.category[i] == 1 and i != 8]
    assert np.mean([_rank(long[0], i) for i in cat1]) < np.mean([_rank(short[0], i) for i in cat1])


def test_session_bayes_moves_away_from_a_cart_removal(tiny_catalog, tiny_interactions):
    model = SessionBayes().fit(tiny_interactions, tiny_catalog)
    viewed = SessionSignals(viewed=((7, 0.0), (5, 0.0)))
    before, before_scores = model.recommend(RecRequest(k=10, signals=viewed))
    removed = SessionSignals(viewed=viewed.viewed, removed=(7,))
    after, after_scores = model.recommend(RecRequest(k=10, signals=removed))
    # item 8 shares item 7's brand and category; item 6 shares the category only with 5's brand
    assert _rank(after, 7) > _rank(before, 7)
    score = dict(zip(after.tolist(), after_scores.tolist(), strict=True))
    score_before = dict(zip(before.tolist(), before_scores.tolist(), strict=True))
    assert score[8] / score[6] < score_before[8] / score_before[6]


def test_content_finds_similar_titles_even_without_interactions(tiny_catalog, tiny_interactions):
    model = Content().fit(tiny_interactions, tiny_catalog)
    items, _ = model.recommend(RecRequest(k=2, product=3))  # "leather boot": nobody touched 3 or 4
    assert items[0] == 4  # "rain boot", same category and brand
    items, _ = model.recommend(RecRequest(k=2, product=0))  # "red running shoe"
    assert set(items.tolist()) == {1, 2}


def test_hybrid_combines_bought_together_and_session_intent(tiny_catalog, tiny_interactions):
    model = Hybrid(generator_params={"als": {"factors": 4}}).fit(tiny_interactions, tiny_catalog)
    items, scores = model.recommend(RecRequest(k=3, product=0))
    assert 7 in items[:2]  # bought together with 0, though in another category
    assert np.all(np.diff(scores) <= 0)
    items, _ = model.recommend(RecRequest(k=3, signals=SessionSignals(viewed=((5, 30_000.0),))))
    assert items[0] == 6
