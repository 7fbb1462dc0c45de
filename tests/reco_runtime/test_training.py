import numpy as np

from reco_runtime.models import ALGORITHMS
from reco_runtime.registry import ModelRegistry
from reco_runtime.request import RecRequest
from reco_runtime.training import ModelFits, train_all

from .conftest import SMALL_PARAMS


def test_train_all_publishes_every_variant_with_holdout_metrics(small_world, small_interactions, tmp_path):
    registry = ModelRegistry(tmp_path / "reg")
    versions = train_all(
        small_interactions,
        small_world.catalog,
        registry,
        params=SMALL_PARAMS,
        progress=False,
        refit=False,
        eval_users=200,
    )
    assert set(versions) == set(ALGORITHMS)
    catalog = registry.load_catalog(registry.versions()[0].catalog_version)
    for algorithm, version in versions.items():
        manifest = registry.manifest(version)
        assert manifest.algorithm == algorithm
        assert manifest.data_window == small_interactions.window
        assert 0 <= manifest.metrics["ndcg@10"] <= 1
        assert manifest.metrics["eval_users"] == 200
        model = registry.load(version, catalog)
        items, _ = model.recommend(RecRequest(k=5, product=3))
        assert len(items) == 5
    # The hybrid was assembled from the standalone models: its generators are byte-identical.
    hybrid = registry.manifest(versions["hybrid"])
    for generator, algorithm in (("knn", "item_knn"), ("als", "als"), ("session", "session_bayes")):
        assert hybrid.content_key(f"{generator}/") == registry.manifest(versions[algorithm]).content_key()
    assert hybrid.content_key("knn/") != hybrid.content_key("session/")


def test_a_hybrid_reuses_fitted_generators_whose_params_differ_only_by_defaults(
    small_world, small_interactions
):
    only_two = {"weights": {"knn": 1.0, "session": 1.0}}
    fits = ModelFits(small_interactions, small_world.catalog, planned=[("hybrid", only_two)])
    knn = fits.fit("item_knn", {"n_neighbors": 100})  # the default, spelled out
    other = fits.fit("item_knn", {"n_neighbors": 20})
    popularity = fits.fit("popularity", {})
    hybrid = fits.fit("hybrid", only_two)
    assert hybrid.generators["knn"] is knn
    assert set(hybrid.generators) == {"knn", "session"}
    # Fitted again only when asked again and not needed by a hybrid: nothing else is held.
    assert fits.fit("item_knn", {"n_neighbors": 20}) is not other
    assert fits.fit("popularity", {}) is not popularity
    assert fits.fit("hybrid", only_two).generators["session"] is hybrid.generators["session"]
    # The other order: a hybrid fitted first keeps its generators for the standalone variants.
    hybrid_first = ModelFits(small_interactions, small_world.catalog, planned=[("hybrid", only_two)])
    early = hybrid_first.fit("hybrid", only_two)
    assert hybrid_first.fit("session_bayes", {}) is early.generators["session"]
    request = RecRequest(k=8, product=4)
    refit = ALGORITHMS["hybrid"](**only_two).fit(small_interactions, small_world.catalog)
    np.testing.assert_array_equal(hybrid.recommend(request)[0], refit.recommend(request)[0])
