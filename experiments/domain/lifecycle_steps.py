"""Which lifecycle step an experiment in each status may take (admin buttons and report links)."""

from experiments.models.experiments import Status

STEPS = {
    "start": (Status.DRAFT,),
    "pause": (Status.RUNNING,),
    "resume": (Status.PAUSED,),
    "conclude": (Status.RUNNING, Status.PAUSED),
    "rerandomize": (Status.RUNNING, Status.PAUSED),
}
