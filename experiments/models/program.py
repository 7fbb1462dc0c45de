from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords


class ProgramSettings(models.Model):
    """Program-wide settings; a single row (pk=1)."""

    holdout_share = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of shoppers always served each slot's fallback (legacy) variant.",
    )
    serving_version = models.PositiveBigIntegerField(default=1, editable=False)
    catalog_version = models.CharField(max_length=128, blank=True, editable=False)
    availability_version = models.PositiveBigIntegerField(
        default=0, editable=False, help_text="The last item availability change web processes apply."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = verbose_name_plural = "program settings"

    def __str__(self) -> str:
        return "Program settings"

    @classmethod
    def load(cls) -> "ProgramSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
