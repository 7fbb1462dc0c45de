"""The Item admin: catalog fields, filters, and availability edits that reach serving."""

import pytest

from experiments.models import Item
from tests.factories import ItemFactory


@pytest.fixture
def changes(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(
        "experiments.services.item_upserts.items_availability_changed", lambda ids: calls.append(sorted(ids))
    )
    return calls


def form_data(item: Item, **changes) -> dict:
    data = {
        "item_id": item.item_id,
        "title": item.title,
        "description": item.description,
        "category": item.category,
        "brand": item.brand,
        "price": str(item.price),
        "currency": item.currency,
        "attributes": "{}",
        "image_url": item.image_url,
        "created_at_0": item.created_at.strftime("%Y-%m-%d"),
        "created_at_1": item.created_at.strftime("%H:%M:%S"),
    }
    if item.available:
        data["available"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_an_admin_edit_of_available_tells_serving_after_commit(
    admin_client, changes, django_capture_on_commit_callbacks
):
    item = ItemFactory(item_id="p-1", available=True, category="Home > Kitchen")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/experiments/item/{item.pk}/change/", form_data(item, available=None)
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Item.objects.get(pk=item.pk).available is False
    assert changes == [["p-1"]]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            f"/admin/experiments/item/{item.pk}/change/",
            form_data(Item.objects.get(pk=item.pk), title="Renamed"),
        )
    assert changes == [["p-1"]]  # a title edit says nothing to serving


@pytest.mark.django_db
def test_the_admin_normalises_category_paths_and_refuses_bad_currencies(admin_client):
    item = ItemFactory(item_id="p-1")
    ok = admin_client.post(
        f"/admin/experiments/item/{item.pk}/change/",
        form_data(item, category="Home>Kitchen >Kettles", currency="eur"),
    )
    assert ok.status_code == 302
    item.refresh_from_db()
    assert (item.category, item.currency) == ("Home > Kitchen > Kettles", "EUR")
    bad = admin_client.post(f"/admin/experiments/item/{item.pk}/change/", form_data(item, currency="E1"))
    assert bad.status_code == 200
    assert "ISO 4217" in bad.content.decode()


@pytest.mark.django_db
def test_the_list_filters_by_availability_and_category_level_and_marks_in_bulk(
    admin_client, changes, django_capture_on_commit_callbacks
):
    ItemFactory(item_id="sneaker", category="Women > Shoes > Sneakers", title="T-SNEAKER")
    ItemFactory(item_id="bag", category="Women > Bags", title="T-BAG")
    ItemFactory(item_id="tie", category="Men > Ties", title="T-TIE", available=False)
    page = admin_client.get("/admin/experiments/item/").content.decode()
    assert "Women &gt; Shoes" in page
    shoes = admin_client.get("/admin/experiments/item/?category_path=Women+%3E+Shoes").content.decode()
    assert "T-SNEAKER" in shoes
    assert "T-BAG" not in shoes
    women = admin_client.get("/admin/experiments/item/?category_path=Women").content.decode()
    assert "T-SNEAKER" in women
    assert "T-BAG" in women
    assert "T-TIE" not in women
    gone = admin_client.get("/admin/experiments/item/?available__exact=0").content.decode()
    assert "T-TIE" in gone
    assert "T-SNEAKER" not in gone
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/experiments/item/",
            {"action": "mark_unavailable", "_selected_action": [i.pk for i in Item.objects.all()]},
        )
    assert not Item.objects.filter(available=True).exists()
    assert changes == [["bag", "sneaker"]]


@pytest.mark.django_db
def test_items_cannot_be_deleted_only_marked_unavailable(admin_client):
    item = ItemFactory()
    page = admin_client.get(f"/admin/experiments/item/{item.pk}/change/").content.decode()
    assert "deletelink" not in page
    assert admin_client.post(f"/admin/experiments/item/{item.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(
        "/admin/experiments/item/",
        {"action": "delete_selected", "_selected_action": [item.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Item.objects.filter(pk=item.pk).exists()
