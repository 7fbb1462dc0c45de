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
# Per-unit counters of a session or user experiment, and the arm-level sums over units built from
# them (bandits.clustered.ClusterSums): units m, sum n_i^2, and per outcome sum y_i^2 and sum n_i y_i.
UNIT_FIELDS = ("trials", "clicks", "add_to_carts", "purchases")
UNIT_OUTCOMES = ("clicks", "add_to_carts", "purchases")
CLUSTER_FIELDS = (
    "units",
    "trials_sq_sum",
    *(f"{outcome}_{kind}_sum" for outcome in UNIT_OUTCOMES for kind in ("sq", "cross")),
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
    """One arm's statistics over the whole experiment (one row per arm, locked while updated).

    For a ``session`` or ``user`` experiment it also keeps the sums over the arm's units that the
    cluster-robust variance needs (``CLUSTER_FIELDS``, maintained from ``UnitStatistics``); they
    stay 0 for a ``request`` experiment, whose decisions are its units.
    """

    arm = models.OneToOneField(Arm, on_delete=models.CASCADE, related_name="posterior")
    updated_at = models.DateTimeField(auto_now=True)
    units = models.BigIntegerField(default=0, help_text="Units (sessions or users) with a decision.")
    trials_sq_sum = models.BigIntegerField(default=0, help_text="Sum over units of trials squared.")
    clicks_sq_sum = models.BigIntegerField(default=0)
    clicks_cross_sum = models.BigIntegerField(default=0, help_text="Sum over units of trials x clicks.")
    add_to_carts_sq_sum = models.BigIntegerField(default=0)
    add_to_carts_cross_sum = models.BigIntegerField(default=0)
    purchases_sq_sum = models.BigIntegerField(default=0)
    purchases_cross_sum = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"posterior {self.arm}"


class UnitStatistics(models.Model):
    """One randomization unit's running counts within one arm, for ``session`` and ``user`` experiments.

    Updated in the posterior update's transaction with the same exactly-once guarantee as the arm's
    posterior; the change of each unit's totals is what moves the arm's ``CLUSTER_FIELDS``.
    """

    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="unit_statistics")
    unit = models.CharField(max_length=128, help_text="The session id, or the user id (session when none).")
    trials = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    add_to_carts = models.BigIntegerField(default=0)
    purchases = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["arm", "unit"], name="unit_statistics_per_arm_unit")]

    def __str__(self) -> str:
        return f"{self.arm} unit {self.unit}"


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
