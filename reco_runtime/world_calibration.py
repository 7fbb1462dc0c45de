"""What the legacy baseline earns in a synthetic world: the yardstick its parameters are set by.

The legacy system (12-cohort bestsellers, retrained monthly) got about 1.8% CTR per
recommendation module, and ``Affinity`` is set so that the world's legacy variant lands there:
``legacy_module_ctr`` is the expected CTR of one module (a decision, ``k`` items, with the
simulated shoppers' position bias) showing a shopper's cohort bestsellers on the first product
page of their visit. The models and bandits are never tuned to this; whatever they reach above
it is theirs.
"""

from __future__ import annotations

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.interactions import Interactions
from reco_runtime.models.cohort_bestsellers import CohortBestsellers
from reco_runtime.request import RecRequest
from reco_runtime.synthetic import EXAMINE_DECAY, World, click_logits, first_product, shopper_new


def module_click_probability(p_click: np.ndarray) -> float:
    """P(at least one click) on a module showing items with click probabilities ``p_click`` (k,),
    in rank order, when rank r is examined with probability EXAMINE_DECAY^(r-1)."""
    examined = EXAMINE_DECAY ** np.arange(len(p_click))
    return float(1.0 - np.prod(1.0 - p_click * examined))


def legacy_module_ctr(
    world: World, interactions: Interactions, *, n_shoppers: int, rng: np.random.Generator, k: int = 10
) -> tuple[float, float]:
    """(mean, standard error) over ``n_shoppers`` live shoppers of the expected CTR of one module
    of legacy cohort bestsellers (fitted on ``interactions``) on their first product page."""
    catalog: Catalog = world.catalog
    legacy = CohortBestsellers().fit(interactions, catalog)
    values = np.empty(n_shoppers)
    for n in range(n_shoppers):
        shopper = shopper_new(world, rng)
        product = first_product(world, shopper, rng)
        request = RecRequest(k=k, user_id=shopper.user_id, product=product, device=shopper.device)
        items, _ = legacy.recommend(request)
        logits = click_logits(world, shopper, np.asarray(items, dtype=np.int64), context_product=product)
        values[n] = module_click_probability(1.0 / (1.0 + np.exp(-logits)))
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(n_shoppers))
