"""``import_catalog``: upsert by item_id, bad rows reported and skipped, files refused whole."""

import gzip
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from experiments.models import Item
from experiments.services.catalog_import import catalog_import
from tests.factories import ItemFactory

HEADER = "item_id,title,description,category,brand,price,currency,available,attributes,image_url,created_at"
GOOD = [
    'p-1,Red kettle,A kettle,Home > Kitchen > Kettles,Acme,19.99,EUR,true,"{""colour"": ""red""}",'
    "https://img.example/p-1.jpg,2024-01-05T10:00:00Z",
    "p-2,Blue mug,,Home > Kitchen > Mugs,Acme,5,EUR,false,,,2024-02-01",
]


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def run(path, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def changes(monkeypatch):
    """The item ids every call of items_availability_changed was given."""
    calls: list[list[str]] = []
    for module in ("experiments.services.item_upserts", "experiments.services.catalog_import"):
        monkeypatch.setattr(f"{module}.items_availability_changed", lambda ids: calls.append(sorted(ids)))
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_csv_creates_items_and_a_second_run_changes_nothing(tmp_path, changes):
    path = write(tmp_path, "catalog.csv", "\n".join([HEADER, *GOOD]) + "\n")
    out, _ = run(path)
    assert "created 2, updated 0, unchanged 0, rejected 0, marked unavailable 0" in out
    kettle = Item.objects.get(item_id="p-1")
    assert (kettle.category, kettle.brand, kettle.price, kettle.currency) == (
        "Home > Kitchen > Kettles",
        "Acme",
        Decimal("19.99"),
        "EUR",
    )
    assert kettle.attributes == {"colour": "red"}
    assert kettle.available
    assert kettle.created_at.isoformat() == "2024-01-05T10:00:00+00:00"
    assert Item.objects.get(item_id="p-2").available is False
    assert changes == [["p-2"]]  # created unavailable
    stamp = kettle.updated_at
    out, _ = run(path)
    assert "created 0, updated 0, unchanged 2" in out
    assert "nothing changed" in out
    assert Item.objects.get(item_id="p-1").updated_at == stamp
    assert changes == [["p-2"]]


@pytest.mark.django_db
def test_a_changed_row_updates_only_that_item_and_keeps_fields_the_file_lacks(tmp_path):
    ItemFactory(item_id="p-1", title="Old", price=3, brand="Kept", description="kept too")
    path = write(tmp_path, "c.csv", "item_id,title,price\np-1,New,3.00\n")
    out, _ = run(path)
    assert "created 0, updated 1, unchanged 0" in out
    item = Item.objects.get(item_id="p-1")
    assert (item.title, item.brand, item.description) == ("New", "Kept", "kept too")


@pytest.mark.django_db
def test_bad_rows_are_reported_with_line_field_and_code_and_good_rows_are_kept(tmp_path):
    rows = [
        "item_id,title,price,currency,available,created_at,attributes",
        "ok-1,Fine,1,,,,",
        "bad-1,No price,,,,,",
        "bad-2,Word price,ten,,,,",
        "bad-3,Currency,1,EURO,,,",
        "bad-4,Stock,1,,perhaps,,",
        "bad-5,When,1,,,last tuesday,",
        "bad-6,Attrs,1,,,,[1]",
        "ok-1,Again,2,,,,",
        "bad-7,Short row",
        ",No id,1,,,,",
        "ok-2,Fine too,2.5,usd,FALSE,2024-03-01 12:00:00+02:00,{}",
    ]
    path = write(tmp_path, "c.csv", "\n".join(rows) + "\n")
    summary = catalog_import(path=path)
    found = [(r.position, r.field, r.code) for r in summary.rejections]
    assert found == [
        (3, "price", "missing_field"),
        (4, "price", "not_a_number"),
        (5, "currency", "bad_currency"),
        (6, "available", "invalid_value"),
        (7, "created_at", "bad_timestamp"),
        (8, "attributes", "invalid_type"),
        (9, "item_id", "duplicate_id"),
        (10, "row", "wrong_cell_count"),
        (11, "item_id", "missing_field"),
    ]
    assert (summary.created, summary.rejected) == (2, 9)
    assert Item.objects.get(item_id="ok-1").title == "Fine"
    second = Item.objects.get(item_id="ok-2")
    assert (second.currency, second.available, second.created_at.hour) == ("USD", False, 10)


@pytest.mark.django_db
def test_the_command_prints_each_rejected_row(tmp_path):
    path = write(tmp_path, "c.csv", "item_id,title,price\np-1,A,1\np-2,B,abc\n")
    out, err = run(path)
    assert "line 3: price: not_a_number (item p-2)" in err
    assert "created 1, updated 0, unchanged 0, rejected 1" in out


@pytest.mark.django_db
def test_jsonl_rows_with_wrong_types_and_unknown_fields_are_rejected(tmp_path):
    lines = [
        {
            "item_id": "j-1",
            "title": "Lamp",
            "price": 12.5,
            "category": "Home>Lighting",
            "attributes": {"w": 40},
        },
        {"item_id": "j-2", "title": 7, "price": 1},
        {"item_id": "j-3", "title": "T", "price": 1, "availble": False},
        {"item_id": "j-4", "title": "T", "price": "1", "available": "yes"},
        {"item_id": "j-5", "title": "T", "price": True},
        {"item_id": 6, "title": "Numeric id", "price": 3},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n{not json\n"
    summary = catalog_import(path=write(tmp_path, "c.jsonl", text))
    assert [(r.position, r.item_id, r.field, r.code) for r in summary.rejections] == [
        (2, "j-2", "title", "invalid_type"),
        (3, "j-3", "availble", "unknown_field"),
        (4, "j-4", "available", "invalid_type"),
        (5, "j-5", "price", "invalid_type"),
        (7, None, "row", "invalid_json"),
    ]
    assert Item.objects.get(item_id="j-1").category == "Home > Lighting"
    assert Item.objects.filter(item_id="6").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["catalog.csv.gz", "catalog.jsonl.gz"])
def test_gzip_files_are_read(tmp_path, name):
    if name.startswith("catalog.csv"):
        text = "item_id,title,price\ng-1,A,1\ng-2,B,2\n"
    else:
        text = '{"item_id": "g-1", "title": "A", "price": 1}\n{"item_id": "g-2", "title": "B", "price": 2}\n'
    assert catalog_import(path=write(tmp_path, name, text)).created == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("catalog.xlsx", "item_id,title,price\n", "unsupported_format"),
        ("catalog", "item_id,title,price\n", "unsupported_format"),
        ("catalog.csv", "", "empty_file"),
        ("catalog.csv", "item_id,title,price\n", "empty_file"),
        ("catalog.jsonl", "\n\n", "empty_file"),
        ("catalog.csv", "item_id,title,price,colour\np-1,A,1,red\n", "unknown_columns"),
        ("catalog.csv", "item_id,price\np-1,1\n", "missing_columns"),
        ("catalog.csv", "item_id,title,title,price\np-1,A,A,1\n", "duplicate_columns"),
        ("catalog.jsonl", "item_id,title,price\np-1,A,1\n", "not_jsonl"),
        ("catalog.jsonl", "[1, 2]\n", "not_jsonl"),
        ("catalog.csv.gz", "item_id,title,price\n", "not_gzip"),
    ],
)
def test_a_file_that_cannot_be_a_catalog_is_refused_whole(tmp_path, name, text, code):
    ItemFactory(item_id="kept", available=True)
    path = tmp_path / name
    path.write_text(text)  # a .gz written as plain text is not gzip
    with pytest.raises(CommandError, match=f"^{code}: "):
        run(path, "--full")
    assert list(Item.objects.values_list("item_id", "available")) == [("kept", True)]


@pytest.mark.django_db
def test_a_file_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"item_id,title,price\n" + bytes(range(128, 256)) * 4)
    with pytest.raises(CommandError, match="^not_utf8: "):
        run(path)


@pytest.mark.django_db
def test_full_marks_missing_items_unavailable_and_relists_those_in_the_file(
    tmp_path, changes, django_capture_on_commit_callbacks
):
    ItemFactory(item_id="gone", available=True)
    ItemFactory(item_id="back", available=False, title="Back", price=1)
    ItemFactory(item_id="typo", available=True)
    path = write(tmp_path, "c.csv", "item_id,title,price\nback,Back,1\nnew,New,2\ntypo,Typo,abc\n")
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(path, "--full")
    assert "created 1, updated 1, unchanged 0, rejected 1, marked unavailable 1" in out
    assert dict(Item.objects.values_list("item_id", "available")) == {
        "gone": False,
        "back": True,
        "new": True,
        "typo": True,  # a bad row never delists its item
    }
    assert Item.objects.filter(item_id="gone").exists()  # never deleted
    assert sorted(changes) == [["back"], ["gone"]]
    out, _ = run(path, "--full")
    assert "created 0, updated 0, unchanged 2, rejected 1, marked unavailable 0" in out


@pytest.mark.django_db
def test_dry_run_reports_and_writes_nothing(tmp_path, changes, django_capture_on_commit_callbacks):
    ItemFactory(item_id="gone", available=True)
    ItemFactory(item_id="p-1", title="Old", price=1)
    path = write(tmp_path, "c.csv", "item_id,title,price\np-1,New,1\np-9,Nine,9\n")
    before = list(Item.objects.order_by("item_id").values())
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(path, "--full", "--dry-run")
    assert (
        "dry run, nothing written: created 1, updated 1, unchanged 0, rejected 0, marked unavailable 1" in out
    )
    assert list(Item.objects.order_by("item_id").values()) == before
    assert changes == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["catalog.csv", "catalog.csv.gz"])
def test_the_progress_counts_every_byte_of_the_file_once(tmp_path, name):
    rows = "".join(f"p-{i},Item {i},{i}\n" for i in range(5_000))
    path = write(tmp_path, name, "item_id,title,price\n" + rows)
    told: list[int] = []
    catalog_import(path=path, read_bytes=told.append)
    assert len(told) > 1
    assert sum(told) == path.stat().st_size
