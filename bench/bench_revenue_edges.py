"""The revenue model at the edges of issue 19, before (vague prior, uncapped) and after.

    .venv/bin/python -m bench.bench_revenue_edges

Prints, for the vague prior of old (m0 = 0, kappa0 = 0.01, uncapped) and for the shop's prior with
order values capped at p99.5: the empty arm's P(best) and mean at 0/5,000 and 0/50,000 against
150/5,000; the good arm's expected loss over seeds; and P(B best) before and after one $100,000 order.
"""

import numpy as np

from bandits import expected_loss, prob_best
from bandits.revenue import (
    LogNormalPrior,
    RevenuePosterior,
    order_value_cap,
    order_value_stats,
)

DRAWS = 200_000


def posterior(values, impressions, history, *, new: bool) -> RevenuePosterior:
    cap = order_value_cap(history) if new else float("inf")
    prior = LogNormalPrior.from_values(history) if new else LogNormalPrior(kappa=0.01)
    stats = order_value_stats(values, cap)
    return RevenuePosterior.from_stats(
        stats[0], impressions, *stats[1:], order_value_prior=prior, value_cap=cap
    )


def main() -> None:
    rng = np.random.default_rng(0)
    good = np.exp(rng.normal(3.5, 0.9, 150))
    for new in (False, True):
        label = "shop prior, capped" if new else "vague prior (old)"
        for empty_impressions in (5_000, 50_000):
            post = posterior([np.zeros(0), good], [empty_impressions, 5_000], good, new=new)
            losses = [expected_loss(post, DRAWS, seed=s)[1] for s in range(5)]
            print(
                f"{label:20s} 0/{empty_impressions:,} vs 150/5,000: P(best) empty "
                f"{prob_best(post, DRAWS, seed=0)[0]:.4f}, mean empty {post.mean()[0]:.3g}, "
                f"good arm's loss over 5 seeds {min(losses):.3g}..{max(losses):.3g}"
            )
        one = posterior([good[:1], good], [5_000, 5_000], good, new=new)
        losses = [expected_loss(one, DRAWS, seed=s)[1] for s in range(5)]
        spread = f"{min(losses):.3g}..{max(losses):.3g}"
        print(f"{label:20s} 1 purchase vs 150: good arm's loss over 5 seeds {spread}")
        a, b = np.exp(rng.normal(3.5, 0.9, 150)), np.exp(rng.normal(3.5, 0.9, 160))
        whale = np.append(b, 100_000.0)
        history = np.concatenate([a, whale])
        before = posterior([a, b], [5_000, 5_000], history, new=new)
        after = posterior([a, whale], [5_000, 5_000], history, new=new)
        print(
            f"{label:20s} whale: revenue/impression of B {before.mean()[1]:.3g} -> {after.mean()[1]:.3g}, "
            f"P(B best) {prob_best(before, DRAWS, seed=0)[1]:.3f} -> {prob_best(after, DRAWS, seed=0)[1]:.3f}"
        )


if __name__ == "__main__":
    main()
