import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .slots import KEY_VALIDATOR, Slot, Variant


class Status(models.TextChoices):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CONCLUDED = "concluded"


class Policy(models.TextChoices):
    THOMPSON = "thompson", "Thompson sampling"
    TOP_TWO_THOMPSON = "top_two_thompson", "Top-two Thompson sampling"
    FIXED = "fixed", "Fixed split"


class RewardMetric(models.TextChoices):
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    REVENUE = "revenue"


class RandomizationUnit(models.TextChoices):
    REQUEST = "request"
    SESSION = "session"
    USER = "user"


def salt_new() -> str:
    """A fresh assignment salt; changing it re-randomizes every unit of an experiment."""
    return secrets.token_hex(8)


class Experiment(models.Model):
    """A test between two or more variants of one slot, with its bandit policy and stopping rule."""

    key = models.CharField(max_length=64, unique=True, validators=[KEY_VALIDATOR])
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="experiments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    policy = models.CharField(
        max_length=32,
        choices=Policy.choices,
        default=Policy.THOMPSON,
        help_text="With 3 or more arms a bandit (top-two Thompson best) decides sooner than an even split "
        "that is right as often: about 1.5-2.9x sooner with 4 arms and 4x or more with 12 "
        "(bench/notes/2026-12-06-bandits.md). With 2 arms it decides no sooner (top-two Thompson is a "
        "50/50 split there): its only gain is that fewer shoppers see the losing arm meanwhile (regret).",
    )
    reward_metric = models.CharField(max_length=16, choices=RewardMetric.choices, default=RewardMetric.CLICK)
    randomization_unit = models.CharField(
        max_length=16, choices=RandomizationUnit.choices, default=RandomizationUnit.SESSION
    )
    exploration_floor = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Total traffic share kept for exploration; each arm keeps at least floor / arms.",
    )
    burn_in = models.PositiveIntegerField(
        default=200, help_text="Even split until every arm has this many impressions."
    )
    prior_alpha = models.FloatField(default=1.0, validators=[MinValueValidator(1e-6)])
    prior_beta = models.FloatField(default=1.0, validators=[MinValueValidator(1e-6)])
    prob_best_threshold = models.FloatField(
        default=0.95, validators=[MinValueValidator(0.5), MaxValueValidator(0.9999)]
    )
    expected_loss_epsilon = models.FloatField(
        default=0.001,
        validators=[MinValueValidator(0.0)],
        help_text="Click, add-to-cart and purchase: the largest acceptable expected loss, as a rate "
        "(0.001 = 0.1 percentage points).",
    )
    revenue_loss_epsilon = models.FloatField(
        default=0.01,
        validators=[MinValueValidator(0.0)],
        help_text="Revenue: the largest acceptable expected loss, in currency per impression "
        "(0.01 = one cent per impression, 10 per 1,000 impressions).",
    )
    max_samples = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop as inconclusive past this."
    )
    minimum_detectable_effect = models.FloatField(
        default=0.004,
        validators=[MinValueValidator(1e-5), MaxValueValidator(0.5)],
        help_text="Smallest difference of rates worth detecting (absolute: 0.004 = 0.4 pp, a 10% uplift on "
        "a 4% CTR). Sets the fixed split's always-valid test (mSPRT) to be most powerful at this effect: "
        "larger effects are then detected somewhat later than with a larger setting. Fixed at start.",
    )
    discount_half_life_epochs = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.5)],
        help_text="Non-stationary worlds: halve an epoch's weight in the posterior every this many "
        "allocation epochs. Blank = every impression counts forever.",
    )
    auto_conclude = models.BooleanField(default=False)
    salt = models.CharField(
        max_length=32,
        default=salt_new,
        editable=False,
        help_text="Hashed with each unit to pick its arm; changed only by the audited Re-randomize action.",
    )
    assignment_layout = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="How the unit hash space is split among arms: [[end_tick, arm_id], ...] in order.",
    )
    allocation_version = models.PositiveIntegerField(default=0)
    winner = models.ForeignKey("Arm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    # The layout can grow long and moves on every recompute; the audit history keeps the salt.
    history = HistoricalRecords(excluded_fields=["assignment_layout"])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status="running"), name="one_running_experiment_per_slot"
            )
        ]

    def __str__(self) -> str:
        return self.key


class Arm(models.Model):
    """One variant inside one experiment; ``weight`` is its current allocation."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    key = models.CharField(max_length=16)
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="arms")
    is_control = models.BooleanField(default=False)
    fixed_weight = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0)], help_text="Share under the fixed policy."
    )
    weight = models.FloatField(default=0.0)
    guardrail_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    guardrail_breach = models.JSONField(
        null=True, blank=True, editable=False, help_text="The guardrail rule and figures that breached."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["experiment", "key"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="arm_key_unique_in_experiment"),
            models.UniqueConstraint(
                fields=["experiment", "variant"], name="arm_variant_unique_in_experiment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.key}:{self.key}"


class GuardrailMetric(models.TextChoices):
    CLICK = "click", "Click-through rate"
    ADD_TO_CART = "add_to_cart", "Add-to-cart rate"
    PURCHASE = "purchase", "Purchase rate"
    REVENUE = "revenue", "Revenue per impression"


class Guardrail(models.Model):
    """A metric an experiment must not make worse than its control."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="guardrail_rules")
    metric = models.CharField(max_length=16, choices=GuardrailMetric.choices)
    tolerance = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.99)],
        help_text="Relative drop vs control that counts as worse: 0.05 = 5% below control.",
    )
    breach_probability = models.FloatField(
        default=0.95,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.9999)],
        help_text="An arm breaches when P(worse than control beyond the tolerance) reaches this.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["experiment", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "metric"], name="guardrail_metric_unique_in_experiment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.experiment.key}:{self.metric}"
