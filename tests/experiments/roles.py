"""Users of each role and data helpers shared by the admin and report tests."""

from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from experiments.models import Exposure, Posterior, PosteriorEpoch

PASSWORD = "pw-correct-horse-42"


def role_user(name: str, group: str | None) -> User:
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def role_client(name: str, group: str | None) -> Client:
    client = Client()
    client.force_login(role_user(name, group))
    return client


def posteriors_set(experiment, stats: dict[str, tuple[int, int]]) -> None:
    """Per arm (trials, clicks), also as one allocation epoch."""
    for arm in experiment.arms.all():
        trials, clicks = stats[arm.key]
        Posterior.objects.filter(arm=arm).update(trials=trials, clicks=clicks)
        PosteriorEpoch.objects.update_or_create(
            arm=arm,
            allocation_version=experiment.allocation_version,
            defaults={"trials": trials, "clicks": clicks},
        )


def exposures_log(experiment, rows: list[tuple[str, float, bool]], *, holdout: bool = False) -> None:
    """Exposure rows (arm key, propensity, clicked) for ``experiment``."""
    arms = {a.key: a for a in experiment.arms.all()}
    now = timezone.now()
    start = Exposure.objects.count()
    Exposure.objects.bulk_create(
        Exposure(
            decision_key=f"d-{start + n}",
            first_event_id=start + n,
            experiment_id=None if holdout else experiment.id,
            arm_id=None if holdout else arms[key].id,
            slot_id=experiment.slot_id,
            holdout=holdout,
            propensity=propensity,
            session_id=f"s-{(start + n) // 3}",
            served_at=now - timedelta(minutes=1),
            items=["p-1"],
            clicked=clicked,
        )
        for n, (key, propensity, clicked) in enumerate(rows)
    )
