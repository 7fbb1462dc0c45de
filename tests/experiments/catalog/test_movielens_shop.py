"""MovieLens-100k through a shop's doors (files, import_catalog, import_interactions, the training
snapshot) scores like the standard offline evaluation of the same ratings.

The two differ on purpose in one way: the shop path weighs 4-5 star ratings as purchases and the
rest as views, where ``reco_runtime.evaluate --movielens`` counts every rating alike; the
protocol (each user's last 20% held out, recall and ndcg at 10) is the same. Skips without the
data (``make movielens``).
"""

import pytest

from experiments.services.catalog_import import catalog_import
from experiments.services.interaction_import import interactions_import
from experiments.services.training import catalog_snapshot, interactions_load
from reco_runtime.evaluate import evaluate_interactions
from reco_runtime.movielens import read_movielens
from reco_runtime.movielens_shop import shop_files_write
from tests.reco_runtime.test_movielens import MOVIELENS_DIR, needs_movielens

VARIANTS = ("popularity", "item_knn", "content")


@pytest.fixture
def standard():
    catalog, interactions = read_movielens(MOVIELENS_DIR)
    return {row["variant"]: row for row in evaluate_interactions(interactions, catalog, variants=VARIANTS)}


@needs_movielens
@pytest.mark.django_db
def test_the_shop_path_scores_like_the_standard_evaluation(tmp_path, settings, standard):
    settings.TRAINING_WINDOW_DAYS = 365  # the ratings span seven months
    files = shop_files_write(MOVIELENS_DIR, tmp_path)
    assert catalog_import(path=files.catalog).rejected == 0
    assert interactions_import(path=files.interactions).rejected == 0
    catalog = catalog_snapshot()
    interactions = interactions_load(catalog)
    assert (catalog.n_items, len(interactions), interactions.n_users) == (1682, 100_000, 943)

    shop = {row["variant"]: row for row in evaluate_interactions(interactions, catalog, variants=VARIANTS)}
    for variant in VARIANTS:
        print(
            variant,
            {m: (round(shop[variant][m], 4), round(standard[variant][m], 4)) for m in ("recall", "ndcg")},
        )
    for variant in ("popularity", "item_knn"):
        for metric in ("recall", "ndcg"):
            assert shop[variant][metric] == pytest.approx(standard[variant][metric], rel=0.10), (
                variant,
                metric,
            )
    # Content reads the genres from the category path and the description instead of the title; the
    # standard reader also files each film under its release decade as a "brand", which a shop's
    # films do not have (they have no brand), so content scores somewhat lower here.
    assert shop["content"]["recall"] >= 0.8 * standard["content"]["recall"]
