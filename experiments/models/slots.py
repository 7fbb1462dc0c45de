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
    fallback_variant = models.ForeignKey(
        "Variant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Served when the slot has no running experiment, for the holdout, and when anything fails.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["page", "position", "key"]

    def __str__(self) -> str:
        return self.key


class Variant(models.Model):
    """A recommender algorithm with parameters and the immutable model version it serves."""

    key = models.CharField(max_length=64, unique=True, validators=[KEY_VALIDATOR])
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="variants")
    algorithm = models.CharField(max_length=32, choices=Algorithm.choices)
    params = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(
        max_length=128, blank=True, help_text="Trained artifact this variant serves; blank = none yet."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slot", "key"]

    def __str__(self) -> str:
        return self.key
