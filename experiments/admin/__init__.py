"""Merchandiser and analyst admin: slots, variants, experiments with their lifecycle, program settings.

Analysts hold only view permissions, so Django shows them read-only pages without save buttons;
merchandisers change slots, variants and experiments but hold no user or API-key permissions.
Every model here keeps its audit trail with django-simple-history ("History" on each page).
"""

from . import catalog, experiments, items, storefront_keys  # noqa: F401  (registers the ModelAdmins)
