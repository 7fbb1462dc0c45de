from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

KEY_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9_\-.]{0,63}$", "Lowercase letters, digits, _ - . only.")


class Algorithm(models.TextChoices):
    POPULARITY = "popularity", "Popularity (recency-decayed)"
    COHORT_BESTSELLERS = "cohort_bestsellers", "Legacy 12-cohort bestsellers"
    ITEM_KNN = "item_knn", "Item-to-item"
    ALS = "als", "Matrix factorisation (ALS)"
    SESSION_BAYES = "session_bayes", "Session-aware Bayesian"
    CONTENT = "content", "Content (TF-IDF)"
    HYBRID = "hybrid", "Hybrid re-ranker"


class Slot(models.Model):
    """A placement on a page that a variant fills with items."""

    key = models.CharField(max_length=64, unique=True, validators=[KEY_VALIDATOR])
    name = models.CharField(max_length=120)
    page = models.CharField(max_length=32, default="product", db_index=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order of the slot on its page.")
    default_k = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    active = models.BooleanField(default=True)
    # Three variant roles that must never be confused (DESIGN.md, Slot). The baseline changes only
    # through the audited "change baseline" action; promote sets the default.
    baseline_variant = models.ForeignKey(
        "Variant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The legacy variant: always served to the global holdout, and what program uplift is "
        "measured against. Changed only with the audited 'Change baseline' action.",
    )
    default_variant = models.ForeignKey(
        "Variant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Served to non-holdout shoppers when no experiment runs; promoting a winner sets it. "
        "Blank = the baseline.",
    )
    fallback_variant = models.ForeignKey(
        "Variant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Served when the chosen variant fails. Blank = the baseline.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["page", "position", "key"]

    def __str__(self) -> str:
        return self.key

    @property
    def serving_default(self) -> "Variant | None":
        """What non-holdout traffic gets outside experiments: the default, else the baseline."""
        return self.default_variant or self.baseline_variant

    @property
    def serving_fallback(self) -> "Variant | None":
        """What a failed slot is served: the fallback, else the baseline."""
        return self.fallback_variant or self.baseline_variant


class Variant(models.Model):
    """A recommender algorithm with parameters and the immutable model version it serves."""

    key = models.CharField(max_length=64, unique=True, validators=[KEY_VALIDATOR])
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="variants")
    algorithm = models.CharField(max_length=32, choices=Algorithm.choices)
    params = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(
        max_length=128, blank=True, help_text="Trained artifact this variant serves; blank = none yet."
    )
    version_pinned = models.BooleanField(
        default=False,
        help_text="Pinned: retraining never moves this variant to a new version; only a person does.",
    )
    version_note = models.TextField(
        blank=True, help_text="Why it serves its version: the last retraining verdict, or who pinned it."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slot", "key"]

    def __str__(self) -> str:
        return self.key
