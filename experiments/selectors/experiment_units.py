from experiments.models import Experiment


def experiment_units(experiment_ids: set[int]) -> dict[int, str]:
    """experiment id -> its randomization unit (request, session or user)."""
    return dict(Experiment.objects.filter(id__in=experiment_ids).values_list("id", "randomization_unit"))
