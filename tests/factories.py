"""factory_boy factories for the domain models."""

import factory
from django.utils import timezone

from experiments.models import Arm, Experiment, Item, Slot, Variant


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"test_slot_{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    page = "test"


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    key = factory.Sequence(lambda n: f"variant-{n}")
    slot = factory.SubFactory(SlotFactory)
    algorithm = "popularity"
    params = factory.LazyFunction(dict)


class ExperimentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Experiment

    key = factory.Sequence(lambda n: f"experiment-{n}")
    slot = factory.SubFactory(SlotFactory)


class ArmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Arm

    experiment = factory.SubFactory(ExperimentFactory)
    key = factory.Sequence(lambda n: f"X{n}")
    variant = factory.SubFactory(VariantFactory, slot=factory.SelfAttribute("..experiment.slot"))


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    item_id = factory.Sequence(lambda n: f"p-{n}")
    title = factory.Sequence(lambda n: f"item {n}")
    price = 10
    created_at = factory.LazyFunction(timezone.now)
