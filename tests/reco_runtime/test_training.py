from reco_runtime.models import ALGORITHMS
from reco_runtime.registry import ModelRegistry
from reco_runtime.request import RecRequest
from reco_runtime.training import train_all

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
