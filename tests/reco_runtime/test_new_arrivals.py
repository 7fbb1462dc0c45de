"""Items with no interactions yet (new arrivals) still reach shoppers: the new-arrivals content
variant and the hybrid recommend them, in the synthetic world where 3% of items are listed in
the last two days and never appear in the history."""

import numpy as np
import pytest

from reco_runtime.errors import RecoError
from reco_runtime.models import ALGORITHMS
from reco_runtime.models.hybrid import PARAMS_WITH_NEW_ARRIVALS
from reco_runtime.request import RecRequest

from .conftest import SMALL_PARAMS

K = 10
PAGES = 300


def _share_of_unseen(model, world, interactions) -> float:
    """Share of recommended items that have no interaction in the training data."""
    seen = np.bincount(interactions.item_idx, minlength=world.catalog.n_items) > 0
    rng = np.random.default_rng(5)
    shown = []
    for product in rng.choice(np.flatnonzero(seen), PAGES, replace=False).tolist():
        user = str(interactions.user_ids[rng.integers(interactions.n_users)])
        items, _ = model.recommend(RecRequest(k=K, user_id=user, product=product))
        shown.extend(items.tolist())
    return float(np.mean(~seen[np.asarray(shown)]))


@pytest.fixture(scope="module")
def hybrid_with_content(small_world, small_interactions):
    params = SMALL_PARAMS["hybrid"] | {"weights": PARAMS_WITH_NEW_ARRIVALS["weights"]}
    content = SMALL_PARAMS["content"] | PARAMS_WITH_NEW_ARRIVALS["generator_params"]["content"]
    params["generator_params"] = params["generator_params"] | {"content": content}
    return ALGORITHMS["hybrid"](**params).fit(small_interactions, small_world.catalog)


@pytest.fixture(scope="module")
def new_arrivals(small_world, small_interactions):
    params = SMALL_PARAMS["content"] | {"new_within_days": 30}
    return ALGORITHMS["content"](**params).fit(small_interactions, small_world.catalog)


def test_new_arrivals_reach_shoppers_through_content_and_the_out_of_the_box_hybrid(
    new_arrivals, hybrid_with_content, small_world, small_interactions, fitted_models
):
    share = {
        "new arrivals": _share_of_unseen(new_arrivals, small_world, small_interactions),
        "content": _share_of_unseen(fitted_models["content"], small_world, small_interactions),
        "hybrid with new arrivals": _share_of_unseen(hybrid_with_content, small_world, small_interactions),
        "hybrid (co-occurrence only)": _share_of_unseen(
            fitted_models["hybrid"], small_world, small_interactions
        ),
        "popularity": _share_of_unseen(fitted_models["popularity"], small_world, small_interactions),
    }
    print(share)
    assert share["new arrivals"] > 0.9
    assert share["content"] > 0.005
    assert share["hybrid with new arrivals"] > 0.02  # new items are 3% of the catalog
    # Without a content generator nothing without history is ever shown.
    assert share["hybrid (co-occurrence only)"] == share["popularity"] == 0.0


def test_new_arrivals_are_similar_to_the_page_and_listed_recently(new_arrivals, small_world):
    catalog = small_world.catalog
    newest = catalog.created_at.max()
    items, _ = new_arrivals.recommend(RecRequest(k=K, product=0))
    assert len(items) == K
    assert np.all(catalog.created_at[items] >= newest - 30 * 86_400)


def test_new_within_days_must_not_be_negative():
    with pytest.raises(RecoError, match="new_within_days"):
        ALGORITHMS["content"](new_within_days=-1)
