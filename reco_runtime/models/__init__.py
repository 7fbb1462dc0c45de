"""The recommender variants. ``ALGORITHMS`` maps each algorithm name to its class."""

from reco_runtime.models.als import Als
from reco_runtime.models.base import Recommender
from reco_runtime.models.cohort_bestsellers import CohortBestsellers
from reco_runtime.models.content import Content
from reco_runtime.models.hybrid import Hybrid
from reco_runtime.models.item_knn import ItemKnn
from reco_runtime.models.popularity import Popularity
from reco_runtime.models.session_bayes import SessionBayes

ALGORITHMS: dict[str, type[Recommender]] = {
    cls.algorithm: cls for cls in (Popularity, CohortBestsellers, ItemKnn, Als, SessionBayes, Content, Hybrid)
}

__all__ = [
    "ALGORITHMS",
    "Als",
    "CohortBestsellers",
    "Content",
    "Hybrid",
    "ItemKnn",
    "Popularity",
    "Recommender",
    "SessionBayes",
]
