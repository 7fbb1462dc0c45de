"""The recommender variants. ``ALGORITHMS`` maps each algorithm name to its class."""

from reco_runtime.models.base import Recommender
from reco_runtime.models.popularity import Popularity

ALGORITHMS: dict[str, type[Recommender]] = {cls.algorithm: cls for cls in (Popularity,)}

__all__ = ["ALGORITHMS", "Recommender", "Popularity"]
