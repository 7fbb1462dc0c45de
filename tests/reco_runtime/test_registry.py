from datetime import UTC, datetime

import numpy as np
import pytest

from reco_runtime.errors import ArtifactError
from reco_runtime.models import Popularity
from reco_runtime.registry import ModelRegistry
from reco_runtime.request import RecRequest


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "reg", clock=lambda: datetime(2026, 11, 23, 10, 15, tzinfo=UTC))


@pytest.fixture
def fitted(tiny_catalog, tiny_interactions):
    return Popularity(scope="category").fit(tiny_interactions, tiny_catalog)


def test_publish_then_load_serves_identical_items(registry, fitted, tiny_catalog, tiny_interactions):
    version = registry.publish(
        fitted, params=fitted.params_dict, data_window=tiny_interactions.window, metrics={"ndcg": 0.1}
    )
    assert version.startswith("popularity-20261123T101500-")
    loaded = registry.load(version, tiny_catalog)
    for req in (RecRequest(k=4), RecRequest(k=4, product=7, exclude={5})):
        a, b = fitted.recommend(req), loaded.recommend(req)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    (manifest,) = registry.versions("popularity")
    assert manifest.version == version
    assert manifest.metrics == {"ndcg": 0.1}
    assert manifest.data_window == tiny_interactions.window
    assert manifest.params["scope"] == "category"
    assert registry.versions("als") == []


def test_versions_are_immutable_and_distinct(registry, fitted, tiny_interactions):
    kw = dict(params={}, data_window=tiny_interactions.window, metrics={})
    v1, v2 = registry.publish(fitted, **kw), registry.publish(fitted, **kw)
    assert v1 != v2
    assert [m.version for m in registry.versions()] == sorted([v1, v2])
    files = list((registry.models_dir / v1).iterdir())
    assert files
    assert all(not (f.stat().st_mode & 0o222) for f in files)


def test_missing_version_raises_artifact_error(registry, tiny_catalog):
    with pytest.raises(ArtifactError):
        registry.load("popularity-20261123T101500-abcd", tiny_catalog)
    with pytest.raises(ArtifactError):
        registry.load("../../etc", tiny_catalog)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_corrupt_artifact_raises_artifact_error(registry, fitted, tiny_catalog, tiny_interactions, damage):
    version = registry.publish(fitted, params={}, data_window=tiny_interactions.window, metrics={})
    directory = registry.models_dir / version
    target = directory / ("manifest.json" if damage == "manifest" else "top.npy")
    target.chmod(0o644)
    data = target.read_bytes()
    if damage == "flip":
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    elif damage == "truncate":
        target.write_bytes(data[:-4])
    elif damage == "delete":
        target.unlink()
    else:
        target.write_text("{not json")
    with pytest.raises(ArtifactError):
        registry.load(version, tiny_catalog)


def test_model_for_another_catalog_raises_artifact_error(registry, fitted, small_world, tiny_interactions):
    version = registry.publish(fitted, params={}, data_window=tiny_interactions.window, metrics={})
    with pytest.raises(ArtifactError, match="items"):
        registry.load(version, small_world.catalog)


def test_catalog_round_trip_is_content_addressed(registry, tiny_catalog):
    v1 = registry.save_catalog(tiny_catalog)
    assert registry.save_catalog(tiny_catalog) == v1
    loaded = registry.load_catalog(v1)
    assert loaded.fingerprint() == tiny_catalog.fingerprint()
    with pytest.raises(ArtifactError):
        registry.load_catalog("catalog-0000000000000000")
