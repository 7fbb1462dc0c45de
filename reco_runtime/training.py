"""Train variants, measure them on a holdout, publish them as registry versions.

    versions = train_all(interactions, catalog, ModelRegistry(root))   # {"als": "als-2026...-3f2a", ...}

For each algorithm: fit on the temporal training part (each user's first 80%), evaluate on
the held-out rest (``evaluate`` protocol, at most ``eval_users`` users, recorded in the
manifest as ``metrics``), then refit on all interactions and publish that model (``refit=False``
publishes the holdout-trained model instead, halving the time). Set ``OPENBLAS_NUM_THREADS=1``
in the environment of training processes (``als`` also limits BLAS threads itself).

    python -m reco_runtime.training --root var/models --synthetic [--items 20000 --sessions 50000]
    python -m reco_runtime.training --root var/models --movielens var/ml-100k
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.evaluate import HOLDOUT, models_evaluate, user_cases
from reco_runtime.fit_resources import FitMeter
from reco_runtime.interactions import Interactions
from reco_runtime.models import ALGORITHMS, Recommender
from reco_runtime.models.base import _jsonable
from reco_runtime.models.hybrid import Hybrid
from reco_runtime.registry import ModelRegistry

EVAL_K = 10


def holdout_metrics(
    model: Recommender,
    train: Interactions,
    test: Interactions,
    *,
    k: int = EVAL_K,
    eval_users: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """recall/ndcg/coverage@k of a model fitted on ``train`` against ``test`` (sampled users)."""
    cases = user_cases(train, test, k)
    if len(cases) > eval_users:
        pick = np.random.default_rng(seed).choice(len(cases), eval_users, replace=False)
        cases = [cases[i] for i in sorted(pick.tolist())]
    (row,) = models_evaluate({model.algorithm: model}, cases, k, train.n_items)
    return {
        f"recall@{k}": row["recall"],
        f"ndcg@{k}": row["ndcg"],
        f"coverage@{k}": row["coverage"],
        "holdout": HOLDOUT,
        "eval_users": len(cases),
        "train_s": row["train_s"],
        "n_interactions": len(train) + len(test),
        "n_users": train.n_users,
    }


def _fit_key(algorithm: str, params: dict[str, Any]) -> tuple[str, str]:
    """(algorithm, its full params as JSON): equal for params that differ only by defaults."""
    full = ALGORITHMS[algorithm](**params).params_dict
    return algorithm, json.dumps(_jsonable(full), sort_keys=True)


class ModelFits:
    """Fits models on one data set, each distinct (algorithm, params) once.

    A ``hybrid`` is assembled from the generators fitted for the standalone variants
    (``Hybrid.from_generators``) instead of fitting them again: training is faster, and the
    hybrid's artifact holds byte-identical copies of theirs, which serving loads once (see
    ``experiments.serving.model_store``). In any order: a hybrid fitted first keeps the
    generators it fitted for the standalone variants. Only models a ``hybrid`` of ``planned``
    needs are kept in memory.
    """

    def __init__(
        self,
        interactions: Interactions,
        catalog: Catalog,
        *,
        planned: Iterable[tuple[str, dict[str, Any]]] = (),
        progress: Any = None,
    ) -> None:
        self.interactions, self.catalog, self.progress = interactions, catalog, progress
        self._wanted = {
            _fit_key(*spec)
            for algorithm, params in planned
            if algorithm == Hybrid.algorithm
            for spec in Hybrid.generator_specs(**params).values()
        }
        self._kept: dict[tuple[str, str], Recommender] = {}

    def fit(self, algorithm: str, params: dict[str, Any]) -> Recommender:
        key = _fit_key(algorithm, params)
        model = self._kept.get(key)
        if model is not None:
            return model
        if algorithm == Hybrid.algorithm:
            generators = {g: self._fit_kept(*spec) for g, spec in Hybrid.generator_specs(**params).items()}
            return Hybrid.from_generators(generators, **params)
        model = ALGORITHMS[algorithm](**params).fit(self.interactions, self.catalog, progress=self.progress)
        if key in self._wanted:
            self._kept[key] = model
        return model

    def _fit_kept(self, algorithm: str, params: dict[str, Any]) -> Recommender:
        self._wanted.add(_fit_key(algorithm, params))
        return self.fit(algorithm, params)


class HoldoutFits:
    """Each (algorithm, params) fitted for publishing, with its offline metrics: first fitted on
    the temporal training part (each user's first 80%) and scored on the held-out rest, then
    refitted on all interactions. ``evaluate=False`` skips the first fit (no metrics);
    ``refit=False`` publishes the training-part model instead of refitting it. Both data sets
    fit through ``ModelFits``, so hybrids reuse the standalone variants' generators."""

    def __init__(
        self,
        interactions: Interactions,
        catalog: Catalog,
        *,
        planned: Iterable[tuple[str, dict[str, Any]]] = (),
        evaluate: bool = True,
        refit: bool = True,
        eval_users: int = 2000,
        progress: Any = None,
    ) -> None:
        planned = list(planned)
        self.eval_users = eval_users
        self.split = interactions.split_temporal(holdout=HOLDOUT) if evaluate and len(interactions) else None
        self.on_train = (
            ModelFits(self.split[0], catalog, planned=planned, progress=progress) if self.split else None
        )
        self.on_all = (
            ModelFits(interactions, catalog, planned=planned, progress=progress)
            if refit or self.on_train is None
            else None
        )

    def fit(self, algorithm: str, params: dict[str, Any]) -> tuple[Recommender, dict[str, Any]]:
        """(model to publish, its metrics: empty without ``evaluate``)."""
        model, metrics, _ = self.fit_with_holdout(algorithm, params)
        return model, metrics

    def fit_with_holdout(
        self, algorithm: str, params: dict[str, Any]
    ) -> tuple[Recommender, dict[str, Any], Recommender | None]:
        """(model to publish, its metrics, the model fitted on the training part or None).

        The metrics also hold ``fit_total_s`` and ``peak_rss_mb`` / ``peak_extra_mb`` (the process's
        peak resident memory during both fits, and above where it stood before them)."""
        metrics: dict[str, Any] = {}
        holdout_model = None
        with FitMeter() as meter:
            if self.split and self.on_train:
                train, test = self.split
                holdout_model = model = self.on_train.fit(algorithm, params)
                metrics = holdout_metrics(model, train, test, eval_users=self.eval_users)
            if self.on_all is not None:
                model = self.on_all.fit(algorithm, params)
                if metrics:
                    metrics["refit_s"] = round(model.fit_seconds or 0.0, 3)
        metrics["fit_total_s"] = round(meter.seconds, 3)
        metrics["peak_rss_mb"] = round(meter.peak_rss_mb, 1)
        metrics["peak_extra_mb"] = round(meter.peak_extra_mb, 1)
        return model, metrics, holdout_model


def train_all(
    interactions: Interactions,
    catalog: Catalog,
    registry: ModelRegistry,
    *,
    algorithms: Iterable[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    progress: bool = True,
    refit: bool = True,
    eval_users: int = 2000,
) -> dict[str, str]:
    """Fit, evaluate and publish each algorithm (default: all); returns algorithm -> version."""
    names = list(algorithms) if algorithms is not None else list(ALGORITHMS)
    unknown = set(names) - set(ALGORITHMS)
    if unknown:
        raise RecoError(f"train_all: unknown algorithms {sorted(unknown)}; known: {sorted(ALGORITHMS)}")
    params = params or {}
    catalog_version = registry.save_catalog(catalog)
    fits = HoldoutFits(
        interactions,
        catalog,
        planned=[(name, params.get(name, {})) for name in names],
        refit=refit,
        eval_users=eval_users,
        progress=progress,
    )
    versions = {}
    bar = tqdm(names, desc="train", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        model, metrics = fits.fit(name, params.get(name, {}))
        versions[name] = registry.publish(
            model,
            params=model.params_dict,
            data_window=interactions.window,
            metrics=metrics,
            catalog_version=catalog_version,
        )
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and publish recommender variants.")
    parser.add_argument("--root", required=True, help="registry root directory")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--movielens", metavar="DIR")
    source.add_argument("--synthetic", action="store_true")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.movielens:
        from reco_runtime.movielens import read_movielens

        catalog, interactions = read_movielens(args.movielens)
    else:
        from reco_runtime.synthetic import world_generate, world_history

        world = world_generate(n_items=args.items, n_users=args.users, seed=args.seed)
        log = world_history(world, n_sessions=args.sessions, rng=np.random.default_rng(args.seed + 1))
        catalog, interactions = world.catalog, log.to_interactions(world.catalog)
    versions = train_all(
        interactions,
        catalog,
        ModelRegistry(args.root),
        algorithms=[a for a in args.algorithms.split(",") if a],
    )
    json.dump(versions, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
