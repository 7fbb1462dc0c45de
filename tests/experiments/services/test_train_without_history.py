"""``train_models`` on a catalog with no history says what to do, and writes nothing."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from experiments.models import Interaction, Variant

CATALOG = """item_id,title,price,category,brand
a-1,Runner,59.00,Women > Shoes > Sneakers,Acme
a-2,Trail runner,79.00,Women > Shoes > Sneakers,Acme
a-3,Linen shirt,39.00,Women > Tops,Bravo
"""


@pytest.mark.django_db
def test_train_models_without_any_interactions_asks_for_the_history_first(tmp_path, settings):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG)
    call_command("import_catalog", str(catalog), "--no-progress")
    assert not Interaction.objects.exists()

    with pytest.raises(CommandError, match=r"no interactions to train on.*import_interactions"):
        call_command("train_models", "--no-evaluate")

    assert not Variant.objects.exists(), "nothing is set up for a training that cannot run"
    assert not (settings.MODEL_ROOT).exists() or not any(settings.MODEL_ROOT.rglob("*.json"))
