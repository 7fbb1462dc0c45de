from .availability import AvailabilityChange
from .catalog import Item
from .experiments import Arm, Experiment, Guardrail
from .interactions import Interaction
from .ledger import Event, Exposure
from .posteriors import Posterior, PosteriorEpoch, PosteriorSnapshot, UnitStatistics
from .program import ProgramSettings
from .slots import Slot, Variant

__all__ = [
    "Arm",
    "AvailabilityChange",
    "Event",
    "Experiment",
    "Exposure",
    "Guardrail",
    "Interaction",
    "Item",
    "Posterior",
    "PosteriorEpoch",
    "PosteriorSnapshot",
    "ProgramSettings",
    "Slot",
    "UnitStatistics",
    "Variant",
]
