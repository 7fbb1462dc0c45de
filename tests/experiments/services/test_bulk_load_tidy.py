import pytest
from django.db import connection

from experiments.models import Interaction, Item
from experiments.services.demo_world import _bulk_load_tidy
from tests.experiments.conftest import storefront_build


def _planner_rows(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_leaves_the_planner_statistics_of_what_it_loaded():
    """VACUUM cannot run in a transaction: the seed calls it after its own has committed."""
    assert connection.vendor == "postgresql"
    storefront_build()
    _bulk_load_tidy((Item, Interaction))
    assert _planner_rows(Interaction) == Interaction.objects.count() > 0
    assert _planner_rows(Item) == Item.objects.count() > 0


@pytest.mark.services
@pytest.mark.django_db
def test_inside_a_callers_transaction_a_bulk_load_is_analysed_only():
    assert connection.vendor == "postgresql"
    storefront_build()
    _bulk_load_tidy((Item, Interaction))
    assert _planner_rows(Interaction) == Interaction.objects.count() > 0
