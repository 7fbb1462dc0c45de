"""Immutable, versioned model and catalog artifacts on a filesystem.

Layout under ``root``::

    models/<version>/manifest.json + model.json + *.npy     (version = "<algorithm>-<UTC time>-<hex4>")
    catalogs/<catalog_version>/catalog.json + *.npy         (catalog_version = "catalog-<content hash>")

A version is written to a temporary directory and renamed into place, so readers never see a
half-written artifact; files are then made read-only. Retraining publishes a new version; nothing
is ever changed in place. The manifest records variant, params, training data window, offline
metrics, creation time and a sha256 per file, which ``load`` verifies (``verify=False`` skips the
hashing for very large artifacts that were verified once).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reco_runtime.catalog import Catalog
from reco_runtime.errors import ArtifactError, RecoError
from reco_runtime.models.base import Recommender, _jsonable

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
_VERSION_RE = re.compile(r"^[a-z][a-z0-9_]*-\d{8}T\d{6}-[0-9a-f]{4}$")
_CATALOG_RE = re.compile(r"^catalog-[0-9a-f]{16}$")


@dataclass(frozen=True)
class Manifest:
    """What a model version is. data_window: (first, last) training event, epoch seconds.
    created_at: ISO 8601 UTC. files: name -> {"bytes": int, "sha256": hex}."""

    version: str
    algorithm: str
    params: dict[str, Any]
    data_window: tuple[float, float]
    metrics: dict[str, Any]
    created_at: str
    n_items: int
    catalog_version: str | None = None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def __post_init__(self) -> None:
        if not _VERSION_RE.match(self.version):
            raise RecoError(
                f"Manifest.version {self.version!r} is not '<algorithm>-<YYYYmmddTHHMMSS>-<hex4>'"
            )
        window = tuple(float(t) for t in self.data_window)
        if len(window) != 2 or window[0] > window[1]:
            raise RecoError("Manifest.data_window must be (start, end) with start <= end")
        object.__setattr__(self, "data_window", window)

    def to_json(self) -> str:
        return json.dumps(_jsonable(asdict(self)), indent=1, sort_keys=True)

    def content_key(self, prefix: str = "") -> str:
        """A hash of the artifact's files under ``prefix`` (their names below it and sha256s):
        equal for byte-identical artifacts, such as a model published on its own and the same
        fitted model saved as a hybrid's generator (``prefix="<generator>/"``)."""
        entries = sorted(
            (name[len(prefix) :], str(info.get("sha256")))
            for name, info in self.files.items()
            if name.startswith(prefix)
        )
        return hashlib.sha256(json.dumps(entries).encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        doc = json.loads(text)
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _freeze(directory: Path) -> None:
    """Make the artifact's files read-only: a reminder that versions are immutable."""
    for path in _files(directory):
        with contextlib.suppress(OSError):
            path.chmod(0o444)


class ModelRegistry:
    """Publish, list and load model versions and catalogs under ``root``."""

    def __init__(self, root: str | Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.root = Path(root)
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def catalogs_dir(self) -> Path:
        return self.root / "catalogs"

    # -- models ------------------------------------------------------------------------------
    def publish(
        self,
        model: Recommender,
        *,
        params: dict[str, Any],
        data_window: tuple[float, float],
        metrics: dict[str, Any],
        catalog_version: str | None = None,
    ) -> str:
        """Save a fitted model as a new immutable version and return the version string."""
        if not model.is_fitted or model.catalog is None:
            raise RecoError("publish: the model is not fitted")
        self.models_dir.mkdir(parents=True, exist_ok=True)
        now = self._clock().astimezone(UTC)
        for _ in range(20):
            version = f"{model.algorithm}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
            if not (self.models_dir / version).exists():
                break
        else:  # pragma: no cover - 20 collisions of a 16-bit suffix in one second
            raise RecoError("publish: could not find a free version name")
        tmp = self.models_dir / f".tmp-{version}-{secrets.token_hex(4)}"
        try:
            model.save(tmp)
            files = {
                p.relative_to(tmp).as_posix(): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                for p in _files(tmp)
            }
            manifest = Manifest(
                version=version,
                algorithm=model.algorithm,
                params=dict(params),
                data_window=data_window,
                metrics=dict(metrics),
                created_at=now.isoformat(),
                n_items=model.catalog.n_items,
                catalog_version=catalog_version,
                files=files,
            )
            (tmp / MANIFEST_FILE).write_text(manifest.to_json())
            _freeze(tmp)
            os.rename(tmp, self.models_dir / version)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return version

    def manifest(self, version: str) -> Manifest:
        """The manifest of ``version``; ``ArtifactError`` if missing or unreadable."""
        if not _VERSION_RE.match(version or ""):
            raise ArtifactError(f"{version!r} is not a model version string")
        path = self.models_dir / version / MANIFEST_FILE
        try:
            return Manifest.from_json(path.read_text())
        except (OSError, ValueError, TypeError) as exc:
            raise ArtifactError(f"cannot read manifest of {version}: {exc}") from exc

    def versions(self, algorithm: str | None = None) -> list[Manifest]:
        """Manifests of all readable versions (of one algorithm), oldest first."""
        if not self.models_dir.is_dir():
            return []
        found = []
        for path in self.models_dir.iterdir():
            if not _VERSION_RE.match(path.name):
                continue
            if algorithm is not None and not path.name.startswith(f"{algorithm}-"):
                continue
            with contextlib.suppress(ArtifactError):
                found.append(self.manifest(path.name))
        return sorted(found, key=lambda m: (m.created_at, m.version))

    def latest(self, algorithm: str) -> Manifest | None:
        """The newest version of ``algorithm``, or None."""
        found = self.versions(algorithm)
        return found[-1] if found else None

    def load(self, version: str, catalog: Catalog, *, verify: bool = True, warm: bool = False) -> Recommender:
        """Load ``version`` for serving over ``catalog``. Raises ``ArtifactError`` if the version
        is missing, a file is missing or altered (size, and sha256 when ``verify``), or the
        model does not fit the catalog; the caller can then fall back. ``warm`` touches the
        model's pages up front (see ``Recommender.warm``), for serving processes."""
        manifest = self.manifest(version)
        directory = self.models_dir / version
        for name, info in manifest.files.items():
            path = directory / name
            if not path.is_file() or path.stat().st_size != info.get("bytes"):
                raise ArtifactError(f"{version}: file {name} is missing or has the wrong size")
            if verify and _sha256(path) != info.get("sha256"):
                raise ArtifactError(f"{version}: file {name} does not match its sha256")
        model = Recommender.load(directory, catalog)
        if model.algorithm != manifest.algorithm:
            raise ArtifactError(f"{version}: manifest says {manifest.algorithm}, artifact {model.algorithm}")
        return model.warm() if warm else model

    # -- catalogs ----------------------------------------------------------------------------
    def save_catalog(self, catalog: Catalog) -> str:
        """Store ``catalog`` (content-addressed, so saving the same catalog twice is a no-op)."""
        version = f"catalog-{catalog.fingerprint()}"
        final = self.catalogs_dir / version
        if final.is_dir():
            return version
        self.catalogs_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.catalogs_dir / f".tmp-{version}-{secrets.token_hex(4)}"
        try:
            catalog.save(tmp)
            _freeze(tmp)
            try:
                os.rename(tmp, final)
            except OSError:
                if not final.is_dir():  # a concurrent writer wins the rename otherwise
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return version

    def load_catalog(self, version: str) -> Catalog:
        """Load a stored catalog (arrays memory-mapped); ``ArtifactError`` if missing or corrupt."""
        if not _CATALOG_RE.match(version or ""):
            raise ArtifactError(f"{version!r} is not a catalog version string")
        catalog = Catalog.load(self.catalogs_dir / version)
        if f"catalog-{catalog.fingerprint()}" != version:
            raise ArtifactError(f"catalog {version} does not match its content hash")
        return catalog
