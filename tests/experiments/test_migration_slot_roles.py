"""The migration to the slot's three variant roles keeps what each slot served, and the old
guardrail rules, from the data that was there before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("experiments", "0003_epochs_guardrails_discounting")]
AFTER = [("experiments", "0004_slot_roles_salt_guardrail_rules")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_old_fallback_becomes_baseline_and_default_and_json_guardrails_become_rows():
    old = _migrate(BEFORE)
    Slot, Variant, Experiment = (old.get_model("experiments", m) for m in ("Slot", "Variant", "Experiment"))
    slot = Slot.objects.create(key="roles_slot", name="Roles", page="product")
    legacy = Variant.objects.create(key="roles-legacy", slot=slot, algorithm="popularity")
    slot.fallback_variant = legacy
    slot.save()
    bare = Slot.objects.create(key="roles_bare", name="Bare", page="product")
    rules = [{"metric": "revenue", "tolerance": 0.1}, {"metric": "bounce", "tolerance": 0.1}, "junk"]
    Experiment.objects.create(key="roles-exp", slot=slot, guardrails=rules)
    Experiment.objects.create(key="roles-exp-2", slot=bare)
    try:
        new = _migrate(AFTER)
        Slot = new.get_model("experiments", "Slot")
        migrated = Slot.objects.get(key="roles_slot")
        assert (migrated.baseline_variant_id, migrated.default_variant_id) == (legacy.pk, legacy.pk)
        assert migrated.fallback_variant_id is None  # blank = the baseline
        untouched = Slot.objects.get(key="roles_bare")
        assert (untouched.baseline_variant_id, untouched.default_variant_id) == (None, None)
        Guardrail, Experiment = (
            new.get_model("experiments", "Guardrail"),
            new.get_model("experiments", "Experiment"),
        )
        assert list(Guardrail.objects.values_list("metric", "tolerance")) == [("revenue", 0.1)]
        salts = set(Experiment.objects.values_list("salt", flat=True))
        assert len(salts) == 2  # each experiment its own salt
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
