"""The retraining guard: does a new model version serve, or is it kept out?

A candidate serves only if its primary metric on a time holdout is not worse than the serving
version's beyond a relative tolerance: ``candidate >= serving * (1 - tolerance)``.

Fair comparison: both are scored on the very same cases, and neither has seen them. The cases are
the candidate's holdout (each user's last share of interactions, ``Interactions.split_temporal``)
restricted to the interactions newer than the serving version's training data
(``serving_data_end``): the serving model was refitted on everything up to then, so scoring it on
older held-out interactions would score it on its own training data. The candidate is scored by its
model fitted on the training part only. Same users, same requests, same k, same sample of users.

The primary metric is recall@k: a slot shows its k items together (a row of tiles), so whether the
items a shopper goes on to want are among them matters more than their order, and recall is the
steadier of the two on a few hundred users. ndcg@k is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reco_runtime.errors import RecoError
from reco_runtime.evaluate import models_evaluate, user_cases
from reco_runtime.interactions import Interactions
from reco_runtime.models import Recommender


@dataclass(frozen=True)
class GuardSettings:
    """tolerance: allowed relative drop of the primary metric; min_users: fewer fresh holdout
    users than this and there is nothing fair to compare on."""

    tolerance: float = 0.05
    k: int = 10
    eval_users: int = 500
    min_users: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.tolerance < 1:
            raise RecoError("GuardSettings.tolerance must be in [0, 1)")
        if self.k < 1 or self.eval_users < 1 or self.min_users < 1:
            raise RecoError("GuardSettings.k, eval_users and min_users must be >= 1")

    @property
    def metric(self) -> str:
        return f"recall@{self.k}"


@dataclass(frozen=True)
class GuardVerdict:
    """serve: whether the candidate goes live; compared: whether a comparison was possible."""

    serve: bool
    compared: bool
    reason: str
    candidate: dict[str, float]
    serving: dict[str, float]
    users: int


def guard_compare(
    candidate: Recommender,
    serving: Recommender,
    train: Interactions,
    test: Interactions,
    *,
    serving_data_end: float,
    settings: GuardSettings,
) -> GuardVerdict:
    """Score ``candidate`` (fitted on ``train``) and ``serving`` on ``test``'s interactions newer
    than ``serving_data_end`` (epoch s); see the module docstring."""
    fresh = test.subset(test.ts > serving_data_end)
    cases = user_cases(train, fresh, settings.k)
    if len(cases) > settings.eval_users:
        pick = np.random.default_rng(settings.seed).choice(len(cases), settings.eval_users, replace=False)
        cases = [cases[i] for i in sorted(pick.tolist())]
    if len(cases) < settings.min_users:
        return GuardVerdict(
            serve=True,
            compared=False,
            reason=f"not compared: {len(cases)} holdout users with interactions newer than the serving "
            f"version's data (at least {settings.min_users} needed)",
            candidate={},
            serving={},
            users=len(cases),
        )
    rows = models_evaluate({"candidate": candidate, "serving": serving}, cases, settings.k, train.n_items)
    k = settings.k
    new, old = ({f"recall@{k}": r["recall"], f"ndcg@{k}": r["ndcg"]} for r in rows)
    floor = old[settings.metric] * (1 - settings.tolerance)
    serve = new[settings.metric] >= floor
    verdict = "serves" if serve else "kept out"
    reason = (
        f"{verdict}: {settings.metric} {new[settings.metric]:.4f} vs serving {old[settings.metric]:.4f} "
        f"(floor {floor:.4f} at tolerance {settings.tolerance:.0%}) on {len(cases)} holdout users"
    )
    return GuardVerdict(
        serve=serve, compared=True, reason=reason, candidate=new, serving=old, users=len(cases)
    )
