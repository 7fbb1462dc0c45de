import numpy as np
import pytest

from reco_runtime.catalog import Catalog
from reco_runtime.errors import ArtifactError, RecoError


def test_it_maps_ids_to_indices_and_back(tiny_catalog):
    assert tiny_catalog.index_of("p-3") == 3
    assert tiny_catalog.index_of("nope") is None
    idx = tiny_catalog.indices_of(["p-9", "nope", "p-0"])
    assert idx.dtype == np.int32
    assert idx.tolist() == [9, 0]
    assert tiny_catalog.ids_of([9, 0]) == ["p-9", "p-0"]


def test_it_rejects_duplicate_ids_and_bad_shapes():
    base = dict(category=[0, 0], brand=[0, 0], price=[1.0, 2.0], created_at=[0.0, 0.0], titles=["a", "b"])
    with pytest.raises(RecoError, match="unique"):
        Catalog(item_ids=["x", "x"], **base)
    with pytest.raises(RecoError, match="shape"):
        Catalog(item_ids=["x"], **base)
    with pytest.raises(RecoError, match="price"):
        Catalog(item_ids=["x", "y"], **{**base, "price": [1.0, -1.0]})


def test_save_load_round_trip(tiny_catalog, tmp_path):
    tiny_catalog.save(tmp_path / "cat")
    loaded = Catalog.load(tmp_path / "cat")
    assert loaded.fingerprint() == tiny_catalog.fingerprint()
    assert loaded.index_of("p-7") == 7
    assert loaded.titles[3] == "leather boot"


def test_load_of_a_missing_or_truncated_catalog_raises_artifact_error(tiny_catalog, tmp_path):
    with pytest.raises(ArtifactError):
        Catalog.load(tmp_path / "absent")
    tiny_catalog.save(tmp_path / "cat")
    path = tmp_path / "cat" / "price.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ArtifactError):
        Catalog.load(tmp_path / "cat")
