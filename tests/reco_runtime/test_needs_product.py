"""Which variants are anchored on the page's product: a server serves another variant when a
request has no product the catalog knows, instead of their back-filled bestsellers."""

from reco_runtime.models import Als, CohortBestsellers, Content, Hybrid, ItemKnn, Popularity, SessionBayes


def test_it_marks_the_variants_that_rank_from_the_product(tiny_catalog, tiny_interactions):
    assert ItemKnn().needs_product
    assert Content().needs_product
    assert Popularity(scope="category").needs_product
    assert Popularity(scope="brand").needs_product
    assert not Popularity().needs_product
    assert not CohortBestsellers().needs_product
    assert not SessionBayes().needs_product
    assert not Als().needs_product


def test_a_hybrid_needs_the_product_when_it_fuses_the_products_neighbours(tiny_catalog, tiny_interactions):
    knn, popularity = (
        ItemKnn().fit(tiny_interactions, tiny_catalog),
        Popularity().fit(tiny_interactions, tiny_catalog),
    )
    with_knn = Hybrid.from_generators(
        {"knn": knn, "popularity": popularity}, weights={"knn": 1.0, "popularity": 0.3}
    )
    without_knn = Hybrid.from_generators({"popularity": popularity}, weights={"popularity": 1.0})
    assert with_knn.needs_product
    assert not without_knn.needs_product
