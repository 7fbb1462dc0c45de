"""A model that serves several slots of one page computes its candidates once for the page, and
every slot still gets k unique items in descending score order, none shown by another slot."""

from collections import Counter

import pytest

from reco_runtime.models.base import Recommender


@pytest.mark.django_db
@pytest.mark.parametrize("k", [3, 10])
def test_shared_models_run_once_per_page_and_pages_stay_valid(api, storefront, monkeypatch, k):
    calls: Counter = Counter()
    page_candidates = Recommender.page_candidates

    def counted(self, request, n):
        calls[id(self)] += 1
        return page_candidates(self, request, n)

    monkeypatch.setattr(Recommender, "page_candidates", counted)
    catalog_ids = [str(i) for i in storefront.catalog.item_ids[:20]]
    for n, product in enumerate(catalog_ids):
        calls.clear()
        body = {"session_id": f"s-share-{n}", "context": {"product_id": product}, "k": k}
        decisions = api.post("/api/v1/assignments", body, format="json").json()["decisions"]
        assert len(decisions) == 12
        served = []
        for decision in decisions:
            assert decision["fallback"] is False
            items = [i["item_id"] for i in decision["items"]]
            scores = [i["score"] for i in decision["items"]]
            assert len(items) == k
            assert scores == sorted(scores, reverse=True)
            served += items
        assert product not in served
        assert len(served) == len(set(served))
        assert calls  # two popularity artifacts serve the 12 slots
        assert max(calls.values()) == 1


class _FromTheStart:
    """Page candidates whose used-up prefix never advances: every slot walks from the first one."""

    def __init__(self, items, scores, ids) -> None:
        self.items, self.scores, self.ids = items, scores, ids

    @property
    def start(self) -> int:
        return 0

    @start.setter
    def start(self, value: int) -> None:
        pass


@pytest.mark.django_db
def test_skipping_the_excluded_prefix_serves_exactly_the_items_of_a_walk_from_the_start(
    api, storefront, monkeypatch
):
    from experiments.services import assignments

    bodies = [
        {"session_id": f"s-prefix-{n}", "context": {"product_id": str(product)}}
        for n, product in enumerate(storefront.catalog.item_ids[:15])
    ]

    def pages() -> list[list[list[str]]]:
        answers = [api.post("/api/v1/assignments", b, format="json").json()["decisions"] for b in bodies]
        return [[[i["item_id"] for i in d["items"]] for d in decisions] for decisions in answers]

    skipping = pages()
    monkeypatch.setattr(assignments, "_PageCandidates", _FromTheStart)
    assert pages() == skipping
    assert sum(len(items) for page in skipping for items in page) == 15 * 12 * 10
