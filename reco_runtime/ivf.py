"""An inverted-file (IVF) index for top-k by inner product without scanning the catalog.

Build: spherical k-means on the unit-normalised vectors (fitted on a sample), then every item
is assigned to its nearest centroid; items are stored grouped by cluster. The probe score of a
cluster is ``query . mean(raw vectors of the cluster)``, so clusters holding long (popular)
vectors rank higher, as their members' inner products would. Search: score all centroids,
take the best clusters until at least ``n_candidates`` items are gathered, and score only those
items exactly. With ~sqrt(n) clusters a query costs O(sqrt(n) * dim + n_candidates * dim).
This is approximate: items in unprobed clusters are missed (recall is measured in the tests
and the benchmark against brute force).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from reco_runtime.errors import RecoError

SAMPLE = 60_000
ASSIGN_BLOCK = 32_768


@dataclass(frozen=True, eq=False)
class IvfIndex:
    """centroids: (n_clusters, dim) float32 probe vectors.  indptr: (n_clusters + 1,) int64.
    items: (n,) int32 item indices grouped by cluster."""

    centroids: np.ndarray
    indptr: np.ndarray
    items: np.ndarray

    def __post_init__(self) -> None:
        if len(self.indptr) != len(self.centroids) + 1 or self.indptr[-1] != len(self.items):
            raise RecoError("IvfIndex: indptr must have n_clusters + 1 entries ending at len(items)")

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}_centroids": self.centroids,
            f"{prefix}_indptr": self.indptr,
            f"{prefix}_items": self.items,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> IvfIndex:
        return cls(arrays[f"{prefix}_centroids"], arrays[f"{prefix}_indptr"], arrays[f"{prefix}_items"])

    def probe(self, query: np.ndarray, n_candidates: int) -> np.ndarray:
        """int32 items of the best clusters for ``query`` (dim,), at least ``n_candidates`` of them
        (or all items)."""
        sizes = np.diff(self.indptr)
        probe_scores = self.centroids @ query
        avg = max(1.0, len(self.items) / max(1, self.n_clusters))
        m = min(self.n_clusters, int(np.ceil(n_candidates / avg)) * 2 + 1)
        best = (
            np.argpartition(-probe_scores, m - 1)[:m] if m < self.n_clusters else np.arange(self.n_clusters)
        )
        best = best[np.argsort(-probe_scores[best], kind="stable")]
        taken = np.searchsorted(np.cumsum(sizes[best]), n_candidates) + 1
        if taken > len(best):  # too few items in the first m clusters: take more, in order
            best = np.argsort(-probe_scores, kind="stable")
            taken = np.searchsorted(np.cumsum(sizes[best]), n_candidates) + 1
        chosen = best[:taken]
        if len(chosen) == 1:
            c = chosen[0]
            return np.asarray(self.items[self.indptr[c] : self.indptr[c + 1]])
        return np.concatenate([self.items[self.indptr[c] : self.indptr[c + 1]] for c in chosen.tolist()])

    def search(
        self, vectors: np.ndarray, query: np.ndarray, n_candidates: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(candidate items, exact inner products with ``query``) for the probed clusters."""
        cands = self.probe(query, n_candidates)
        return cands, vectors[cands] @ query


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _cluster_sums(labels: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """(k, dim) float64 sums of the rows of ``x`` per label (a sparse product; np.add.at is slow)."""
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    return np.asarray(onehot @ x.astype(np.float64))


def _assign(unit_vectors: np.ndarray, unit_centroids: np.ndarray) -> np.ndarray:
    out = np.empty(len(unit_vectors), dtype=np.int64)
    for start in range(0, len(unit_vectors), ASSIGN_BLOCK):
        block = unit_vectors[start : start + ASSIGN_BLOCK]
        out[start : start + len(block)] = np.argmax(block @ unit_centroids.T, axis=1)
    return out


def ivf_build(
    vectors: np.ndarray, *, n_clusters: int | None = None, rng: np.random.Generator, n_iter: int = 10
) -> IvfIndex:
    """Cluster (n, dim) ``vectors``; ``n_clusters`` defaults to round(sqrt(n / 4)) (~4 sqrt(n) items each)."""
    n = len(vectors)
    if n == 0:
        raise RecoError("ivf_build: no vectors")
    k = n_clusters or max(1, int(round(np.sqrt(n / 4))))
    k = min(k, n)
    unit = _unit(np.asarray(vectors, dtype=np.float32))
    sample = unit[rng.choice(n, min(n, SAMPLE), replace=False)] if n > SAMPLE else unit
    centroids = sample[rng.choice(len(sample), k, replace=False)]
    for _ in range(n_iter):
        labels = _assign(sample, centroids)
        sums = _cluster_sums(labels, sample, k)
        empty = np.bincount(labels, minlength=k) == 0
        sums[empty] = sample[rng.choice(len(sample), int(empty.sum()))]  # re-seed empty clusters
        centroids = _unit(sums).astype(np.float32)
    labels = _assign(unit, centroids)
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=k)
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    raw_means = _cluster_sums(labels, np.asarray(vectors), k) / np.maximum(counts, 1)[:, None]
    return IvfIndex(raw_means.astype(np.float32), indptr, order.astype(np.int32))
