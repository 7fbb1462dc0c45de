from django.db import migrations

PRODUCT_PAGE_SLOTS = [
    ("pdp_similar", "Similar items"),
    ("pdp_bought_together", "Frequently bought together"),
    ("pdp_also_viewed", "Customers also viewed"),
    ("pdp_complete_the_look", "Complete the look"),
    ("pdp_for_you", "Recommended for you"),
    ("pdp_recently_viewed", "Recently viewed"),
    ("pdp_trending_in_category", "Trending in this category"),
    ("pdp_top_in_category", "Top in this category"),
    ("pdp_new_arrivals", "New arrivals"),
    ("pdp_more_from_brand", "More from this brand"),
    ("pdp_price_alternatives", "Price alternatives"),
    ("pdp_accessories", "Accessories"),
]


def slots_create(apps, schema_editor):
    Slot = apps.get_model("experiments", "Slot")
    ProgramSettings = apps.get_model("experiments", "ProgramSettings")
    for position, (key, name) in enumerate(PRODUCT_PAGE_SLOTS):
        Slot.objects.get_or_create(key=key, defaults={"name": name, "page": "product", "position": position})
    ProgramSettings.objects.get_or_create(pk=1)


def slots_delete(apps, schema_editor):
    apps.get_model("experiments", "Slot").objects.filter(key__in=[k for k, _ in PRODUCT_PAGE_SLOTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("experiments", "0001_initial")]
    operations = [migrations.RunPython(slots_create, slots_delete)]
