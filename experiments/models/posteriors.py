from django.db import models

from .experiments import Arm, Experiment

# The fields of ArmStatistics, in one place for the code that adds increments to them.
STAT_FIELDS = (
    "trials",
    "clicks",
    "add_to_carts",
    "purchases",
    "revenue_sum",
    "revenue_sq_sum",
    "log_revenue_sum",
    "log_revenue_sq_sum",
)


class ArmStatistics(models.Model):
    """The sufficient statistics every reward model of an arm is built from.

    ``trials`` counts decisions shown (exposures); ``clicks`` etc. count decisions with at
    least one such outcome, so each is a Bernoulli success count over ``trials``.
    Revenue keeps the sums a zero-inflated revenue model needs.
    """

    trials = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    add_to_carts = models.BigIntegerField(default=0)
    purchases = models.BigIntegerField(default=0)
    revenue_sum = models.FloatField(default=0.0)
    revenue_sq_sum = models.FloatField(default=0.0)
    log_revenue_sum = models.FloatField(default=0.0)
    log_revenue_sq_sum = models.FloatField(default=0.0)

    class Meta:
        abstract = True


class Posterior(ArmStatistics):
    """One arm's statistics over the whole experiment (one row per arm, locked while updated)."""

    arm = models.OneToOneField(Arm, on_delete=models.CASCADE, related_name="posterior")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"posterior {self.arm}"


class PosteriorEpoch(ArmStatistics):
    """One arm's sufficient statistics within one allocation epoch (decisions served at that version).

    Reports stratify by epoch so that weights moving while the base rate drifts cannot
    mislead (Simpson's paradox); discounting folds old epochs down.
    """

    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="epochs")
    allocation_version = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["arm", "allocation_version"], name="epoch_per_arm_version")
        ]

    def __str__(self) -> str:
        return f"{self.arm} epoch {self.allocation_version}"


class PosteriorSnapshot(models.Model):
    """Per allocation version: the stats, weights and decision figures of every arm, for reports."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="snapshots")
    allocation_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    arms = models.JSONField(help_text="[{arm, trials, successes, prob_best, expected_loss, weight}, ...]")
    stopping = models.JSONField(default=dict)

    class Meta:
        ordering = ["experiment", "allocation_version"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "allocation_version"], name="snapshot_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.experiment} v{self.allocation_version}"
