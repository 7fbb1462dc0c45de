"""Reads behind the merchandiser admin: today's traffic per slot, the running experiment, artifacts."""

from datetime import datetime, time

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from experiments.models import Arm, Experiment, Exposure, PosteriorSnapshot
from experiments.models.experiments import Status
from reco_runtime.registry import Manifest, ModelRegistry


def today_start() -> datetime:
    return datetime.combine(timezone.localdate(), time.min, tzinfo=timezone.get_current_timezone())


def slots_with_today(queryset: QuerySet) -> QuerySet:
    """Annotate slots with today's impressions and clicks (exposures served since local midnight)."""
    today = Exposure.objects.filter(slot_id=OuterRef("pk"), served_at__gte=today_start())
    counted = (
        today.order_by().values("slot_id").annotate(n=Count("id"), c=Count("id", filter=Q(clicked=True)))
    )
    return queryset.annotate(
        impressions_today=Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0),
        clicks_today=Coalesce(Subquery(counted.values("c"), output_field=IntegerField()), 0),
    )


def running_experiment(slot) -> Experiment | None:
    return Experiment.objects.filter(slot=slot, status=Status.RUNNING).first()


def leading_arm(experiment: Experiment) -> Arm | None:
    """The arm with the highest P(best) in the latest snapshot, else the highest current weight."""
    snapshot = PosteriorSnapshot.objects.filter(experiment=experiment).order_by("-allocation_version").first()
    arms = {a.key: a for a in experiment.arms.select_related("variant")}
    if snapshot and snapshot.arms:
        best = max(snapshot.arms, key=lambda row: row.get("prob_best", 0.0))
        if best["arm"] in arms:
            return arms[best["arm"]]
    return max(arms.values(), key=lambda a: a.weight, default=None)


def model_versions(algorithm: str | None = None) -> list[Manifest]:
    """Trained artifacts in the model registry (of one algorithm), newest first."""
    return list(reversed(ModelRegistry(settings.MODEL_ROOT).versions(algorithm)))
