from django.db import models


class AvailabilityChange(models.Model):
    """One committed batch of availability changes: the feed web processes apply to their
    in-process availability mask instead of reloading their state.

    ``version`` numbers the batches in commit order without gaps (a batch is numbered under a
    lock on the program settings row, which also holds the feed's current version). ``changes``
    maps item_id to its ``available`` as read under that lock, after the writer committed; null
    means too many items to list, and a process rebuilds its mask from the Item table instead.
    Only the last ``AVAILABILITY_FEED_KEEP`` batches are kept: a process further behind rebuilds.
    """

    version = models.PositiveBigIntegerField(unique=True)
    changes = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        listed = "rebuild" if self.changes is None else f"{len(self.changes)} items"
        return f"availability change {self.version} ({listed})"
