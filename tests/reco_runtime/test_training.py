import numpy as np

from reco_runtime.models import ALGORITHMS
from reco_runtime.registry import ModelRegistry
from reco_runtime.request import RecRequest, SessionSignals
from reco_runtime.training import HOLDOUT, HoldoutFits, ModelFits, holdout_metrics, train_all

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


RESOURCE_KEYS = {"fit_total_s", "peak_rss_mb", "peak_extra_mb"}


def test_holdout_fits_record_fit_time_and_peak_memory(small_world, small_interactions):
    _, metrics = HoldoutFits(small_interactions, small_world.catalog, eval_users=50).fit("als", {})
    assert metrics["fit_total_s"] > 0
    assert metrics["peak_rss_mb"] >= metrics["peak_extra_mb"] >= 0
    assert metrics["peak_rss_mb"] > 10


def test_holdout_fits_score_the_training_part_and_publish_the_refit(small_world, small_interactions):
    catalog = small_world.catalog
    fits = HoldoutFits(small_interactions, catalog, eval_users=100)
    model, metrics = fits.fit("item_knn", {})
    metrics = {k: v for k, v in metrics.items() if k not in RESOURCE_KEYS}
    train, test = small_interactions.split_temporal(holdout=HOLDOUT)
    on_train = ALGORITHMS["item_knn"]().fit(train, catalog)
    assert metrics == holdout_metrics(on_train, train, test, eval_users=100) | {
        "refit_s": round(model.fit_seconds, 3),
        "train_s": metrics["train_s"],  # a timing: the one value two fits do not share
    }
    request = RecRequest(k=10, product=5, signals=SessionSignals(viewed=((9, 3000.0),)))
    on_all = ALGORITHMS["item_knn"]().fit(small_interactions, catalog)
    np.testing.assert_array_equal(model.recommend(request)[0], on_all.recommend(request)[0])
    # Without refit the training-part model is published; without evaluate there are no metrics.
    kept, kept_metrics = HoldoutFits(small_interactions, catalog, refit=False, eval_users=100).fit(
        "item_knn", {}
    )
    np.testing.assert_array_equal(kept.recommend(request)[0], on_train.recommend(request)[0])
    assert "refit_s" not in kept_metrics
    assert kept_metrics["eval_users"] == 100
    quick, none = HoldoutFits(small_interactions, catalog, evaluate=False).fit("item_knn", {})
    assert set(none) == RESOURCE_KEYS
    np.testing.assert_array_equal(quick.recommend(request)[0], on_all.recommend(request)[0])
