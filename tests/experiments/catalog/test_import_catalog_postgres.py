"""The PostgreSQL write path of item upserts: COPY into a scratch table, the writer thread,
and two writers creating the same new items at once."""

import threading

import pytest
from django.db import connection

from experiments.models import Item
from experiments.services.catalog_import import catalog_import
from experiments.services.item_batches import items_record

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_large_file_goes_through_the_writer_thread_and_a_second_run_writes_nothing(tmp_path):
    assert connection.vendor == "postgresql"
    rows = ["item_id,title,price,category,attributes,available"]
    rows += [
        f'p-{i},Item {i},{i % 50}.5,Home > Aisle {i % 7},"{{""n"": {i}}}",{str(i % 9 != 0).lower()}'
        for i in range(2_500)
    ]
    path = tmp_path / "catalog.csv"
    path.write_text("\n".join(rows) + "\n")
    first = catalog_import(path=path, chunk_rows=300)
    assert (first.created, first.rejected) == (2_500, 0)
    item = Item.objects.get(item_id="p-1234")
    assert (item.attributes, str(item.price), item.category) == ({"n": 1234}, "34.50", "Home > Aisle 2")
    assert Item.objects.filter(available=False).count() == len(range(0, 2_500, 9))
    stamps = dict(Item.objects.values_list("item_id", "updated_at"))
    second = catalog_import(path=path, chunk_rows=300)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2_500)
    assert dict(Item.objects.values_list("item_id", "updated_at")) == stamps
    path.write_text("\n".join([rows[0], rows[1].replace("Item 0", "Renamed")]) + "\n")
    third = catalog_import(path=path, full=True)
    assert (third.updated, third.marked_unavailable) == (1, 2_499 - len(range(9, 2_500, 9)))
    assert Item.objects.get(item_id="p-0").title == "Renamed"


def test_two_writers_creating_the_same_items_at_once_create_each_once():
    items = [{"item_id": f"n-{i}", "title": f"New {i}", "price": 1} for i in range(400)]
    results = []
    barrier = threading.Barrier(2)

    def writer():
        barrier.wait()
        try:
            results.append(items_record(items=items).as_dict())
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Item.objects.filter(item_id__startswith="n-").count() == 400
    assert sum(r["accepted"] for r in results) == 400
    assert sum(r["unchanged"] for r in results) == 400
    assert all(r["rejected"] == [] for r in results)


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_sent():
    awkward = {
        "item_id": "w-1",
        "title": "Tab\there, back\\slash \\N",
        "description": "line one\nline two\r\n",
        "price": "1",
        "attributes": {"note": "a\tb\\c", "nested": {"x": [1, 2.5, None]}},
        "category": "Home > Odd \\ Things",
    }
    assert items_record(items=[awkward]).accepted == 1
    item = Item.objects.get(item_id="w-1")
    assert (item.title, item.description, item.category) == (
        awkward["title"],
        awkward["description"],
        awkward["category"],
    )
    assert item.attributes == awkward["attributes"]
    assert items_record(items=[awkward]).unchanged == 1
