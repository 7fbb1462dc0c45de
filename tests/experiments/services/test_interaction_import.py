import gzip
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from experiments.models import Event, Interaction, Posterior
from experiments.services.interaction_import import InteractionImportError, interactions_import
from tests.factories import ItemFactory

HEADER = "user_id,session_id,item_id,type,ts,value,event_id\n"


@pytest.fixture
def items(db):
    return [ItemFactory(item_id=f"p-{n}") for n in range(3)]


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def codes(result) -> list[tuple[int, str, str]]:
    return [(p.line, p.field, p.code) for p in result.problems]


def test_it_stores_good_rows_and_reports_each_bad_one_with_line_field_and_code(items, tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        HEADER
        + "u1,s1,p-0,view,2024-01-01T10:00:00Z,,\n"
        + "u1,s1,p-9,view,2024-01-01T10:00:01Z,,\n"  # unknown item
        + "u1,s1,p-1,wishlist,2024-01-01T10:00:02Z,,\n"  # bad type
        + "u1,s1,p-1,click,yesterday,,\n"  # bad timestamp
        + "u1,s1,p-1,purchase,2024-01-01T10:00:03Z,,\n"  # purchase without value
        + "u1,s1,p-1,purchase,2024-01-01T10:00:03Z,abc,\n"  # value not a number
        + ",,p-1,view,2024-01-01T10:00:04Z,,\n"  # no user nor session
        + "u1,s1,p-1\n"  # too few fields
        + "u2,s2,p-2,purchase,2024-01-02T10:00:00+02:00,19.5,e-1\n",
    )
    result = interactions_import(path=path)
    assert codes(result) == [
        (3, "item_id", "unknown_item"),
        (4, "type", "bad_type"),
        (5, "ts", "bad_timestamp"),
        (6, "value", "missing_value"),
        (7, "value", "bad_value"),
        (8, "user_id", "required"),
        (9, "row", "wrong_field_count"),
    ]
    assert (result.rows, result.added, result.rejected) == (9, 2, 7)
    purchase = Interaction.objects.get(event_id="e-1")
    assert (purchase.user_id, purchase.item_id, purchase.value) == ("u2", "p-2", 19.5)
    assert purchase.ts.isoformat() == "2024-01-02T08:00:00+00:00"


def test_a_second_run_adds_nothing_and_says_so(items, tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        HEADER + "u1,s1,p-0,view,2024-01-01T10:00:00Z,,\nu1,s1,p-1,view,2024-01-01T10:01:00Z,,e-7\n",
    )
    assert interactions_import(path=path).added == 2
    again = interactions_import(path=path)
    assert (again.added, again.already_present) == (0, 2)
    assert "nothing new" in again.summary
    assert Interaction.objects.count() == 2


def test_rows_without_event_id_are_deduplicated_by_their_content(items, tmp_path):
    first = write(
        tmp_path,
        "a.jsonl",
        json.dumps(
            {
                "user_id": "u",
                "session_id": "s",
                "item_id": "p-0",
                "type": "view",
                "ts": "2024-01-01T10:00:00Z",
            }
        )
        + "\n",
    )
    # The same interaction, written differently (key order, another offset for the same instant).
    second = write(
        tmp_path,
        "b.jsonl",
        json.dumps(
            {
                "ts": "2024-01-01T11:00:00+01:00",
                "type": "view",
                "item_id": "p-0",
                "session_id": "s",
                "user_id": "u",
            }
        )
        + "\n",
    )
    interactions_import(path=first)
    assert interactions_import(path=second).already_present == 1
    assert Interaction.objects.count() == 1


def test_duplicate_event_ids_and_rows_in_one_file_are_rejected_after_the_first(items, tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        HEADER
        + "u1,s1,p-0,view,2024-01-01T10:00:00Z,,e-1\n"
        + "u1,s1,p-1,view,2024-01-01T10:00:00Z,,e-1\n"
        + "u1,s1,p-2,view,2024-01-01T10:00:00Z,,\n"
        + "u1,s1,p-2,view,2024-01-01T10:00:00Z,,\n",
    )
    result = interactions_import(path=path)
    assert codes(result) == [(3, "event_id", "duplicate_event_id"), (5, "row", "duplicate_row")]
    assert Interaction.objects.get(event_id="e-1").item_id == "p-0"


def test_jsonl_rows_with_unknown_columns_or_wrong_types_are_rejected(items, tmp_path):
    rows = [
        {
            "user_id": "u",
            "session_id": "s",
            "item_id": "p-0",
            "type": "view",
            "ts": "2024-01-01T10:00:00Z",
            "colour": "red",
        },
        {"user_id": ["u"], "session_id": "s", "item_id": "p-0", "type": "view", "ts": "2024-01-01T10:00:00Z"},
        {"user_id": "u", "session_id": "s", "item_id": "p-0", "type": "view", "ts": 1704103200},
        {
            "user_id": "u",
            "session_id": "s",
            "item_id": "p-0",
            "type": "purchase",
            "ts": "2024-01-01T10:00:00Z",
            "value": True,
        },
        {"user_id": "u", "session_id": "s", "item_id": "p-0", "type": "view", "ts": "2999-01-01T10:00:00Z"},
    ]
    path = write(tmp_path, "h.jsonl.gz", "\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    result = interactions_import(path=path)
    assert codes(result) == [
        (1, "colour", "unknown_column"),
        (2, "user_id", "wrong_type"),
        (3, "ts", "wrong_type"),
        (4, "value", "wrong_type"),
        (5, "ts", "future_timestamp"),
        (6, "row", "bad_json"),
    ]
    assert result.added == 0


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("h.xlsx", "whatever", "unsupported_format"),
        ("h.csv", "", "empty_file"),
        ("h.csv", HEADER, "empty_file"),
        ("h.jsonl", "", "empty_file"),
        ("h.jsonl", "user_id,session_id\n", "not_jsonl"),
        ("h.csv", "just some text\nmore text\n", "unknown_column"),
        ("h.csv", "user_id,session_id,item_id,type\n", "missing_column"),
        ("h.csv", HEADER.strip() + ",colour\n", "unknown_column"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_nothing_stored(items, tmp_path, name, text, code):
    with pytest.raises(InteractionImportError) as caught:
        interactions_import(path=write(tmp_path, name, text))
    assert caught.value.code == code
    assert not Interaction.objects.exists()


def test_a_binary_file_is_refused(items, tmp_path):
    path = tmp_path / "h.csv.gz"
    path.write_bytes(b"\x00\xff\xfe not gzip")
    with pytest.raises(InteractionImportError) as caught:
        interactions_import(path=path)
    assert caught.value.code == "bad_gzip"


def test_chunks_are_stored_as_they_fill(items, tmp_path):
    lines = "".join(f"u{n},s{n},p-{n % 3},view,2024-01-01T10:00:{n:02d}Z,,\n" for n in range(25))
    seen = []
    result = interactions_import(
        path=write(tmp_path, "h.csv", HEADER + lines), chunk_rows=10, progress=seen.append
    )
    assert result.added == 25
    assert seen == [10, 20, 25]


def test_imported_interactions_never_reach_the_ledger_or_posteriors(items, tmp_path):
    path = write(tmp_path, "h.csv", HEADER + "u1,s1,p-0,purchase,2024-01-01T10:00:00Z,9.5,\n")
    interactions_import(path=path)
    assert not Event.objects.exists()
    assert not Posterior.objects.exists()


def test_the_command_reports_rows_and_refuses_a_bad_file(items, tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        HEADER + "u1,s1,p-0,view,2024-01-01T10:00:00Z,,\nu1,s1,nope,view,2024-01-01T10:00:00Z,,\n",
    )
    out, err = StringIO(), StringIO()
    call_command("import_interactions", str(path), "--no-progress", stdout=out, stderr=err)
    assert "2 rows: 1 added, 0 already present, 1 rejected (unknown_item: 1)" in out.getvalue()
    assert "line 3: item_id: unknown_item" in err.getvalue()
    with pytest.raises(CommandError, match="empty_file"):
        call_command("import_interactions", str(write(tmp_path, "e.csv", "")), "--no-progress")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_interactions", str(tmp_path / "missing.csv"), "--no-progress")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_bulk_path_on_postgresql_copies_chunks_and_skips_what_is_there(tmp_path):
    from django.db import connection

    assert connection.vendor == "postgresql"
    for n in range(50):
        ItemFactory(item_id=f"p-{n}")
    lines = "".join(
        f"u{n % 97},s{n},p-{n % 50},view,2024-01-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z,,\n"
        for n in range(2_500)
    )
    path = write(tmp_path, "h.csv.gz", HEADER + lines + "u1,s1,p-1,purchase,2024-01-02T10:00:00Z,5,e-1\n")
    first = interactions_import(path=path, chunk_rows=1_000)
    assert (first.added, first.already_present, first.rejected) == (2_501, 0, 0)
    again = interactions_import(path=path, chunk_rows=700)
    assert (again.added, again.already_present) == (0, 2_501)
    assert Interaction.objects.count() == 2_501
    assert Interaction.objects.get(event_id="e-1").value == 5.0


def test_row_keys_stay_those_of_earlier_imports(items, tmp_path):
    # A file imported by an earlier release, imported again, must find its rows by these keys.
    path = write(
        tmp_path,
        "h.jsonl",
        json.dumps(
            {
                "user_id": "u1",
                "session_id": "s1",
                "item_id": "p-0",
                "type": "view",
                "ts": "2024-01-01T10:00:00Z",
            }
        )
        + "\n"
        + json.dumps(
            {
                "user_id": " u2",
                "session_id": "",
                "item_id": "p-1",
                "type": "purchase",
                "ts": "2024-01-02T10:00:00.250+02:00",
                "value": "19.90",
            }
        )
        + "\n"
        + json.dumps(
            {
                "user_id": 7,
                "session_id": "s",
                "item_id": "p-2",
                "type": "click",
                "ts": "2024-01-03 10:00:00",
                "value": 3,
            }
        )
        + "\n",
    )
    assert interactions_import(path=path).added == 3
    assert set(Interaction.objects.values_list("event_id", flat=True)) == {
        "row:4a1c62dd9acfab3d56200c3ec9efd4fd",
        "row:0aa234f3209b795c2e80215b16262a5b",
        "row:5a54ae66d4398d347c74dce2a1b46d0e",
    }


def test_csv_columns_in_any_order_and_without_the_optional_ones(items, tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        "ts,type,item_id,session_id,user_id\n2024-01-01T10:00:00Z,view,p-0,s1,u1\n"
        + "2024-01-01T10:00:01Z,purchase,p-1,s1,u1\n",
    )
    result = interactions_import(path=path)
    assert codes(result) == [(3, "value", "missing_value")]
    stored = Interaction.objects.get()
    assert (stored.user_id, stored.session_id, stored.item_id, stored.type, stored.value) == (
        "u1",
        "s1",
        "p-0",
        "view",
        None,
    )


def test_a_nul_character_rejects_its_row_only(items, tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        HEADER + "u\x001,s1,p-0,view,2024-01-01T10:00:00Z,,\nu1,s1,p-0,view,2024-01-01T10:00:00Z,,\n",
    )
    result = interactions_import(path=path)
    assert codes(result) == [(2, "user_id", "invalid_character")]
    assert result.added == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_bulk_path_stores_every_character_and_value_as_read(tmp_path):
    from django.db import connection

    assert connection.vendor == "postgresql"
    ItemFactory(item_id="p\\0")
    ItemFactory(item_id="p-1")
    path = write(
        tmp_path,
        "h.csv",
        HEADER
        + '"u\\1","s\t1","p\\0",view,2024-01-01T10:00:00Z,,"e\\N"\n'
        + '"u\r\n2",s2,p-1,purchase,2024-01-01T10:00:00+02:00,0.1,\n'
        + "u3,s3,p-1,add_to_cart,2024-01-01T10:00:00.5Z,,\n",
    )
    seen = []
    result = interactions_import(path=path, chunk_rows=1, progress=seen.append)
    assert (result.added, result.rejected) == (3, 0)
    assert seen == [1, 2, 3, 3]
    stored = {
        i.user_id: (i.event_id, i.session_id, i.item_id, i.ts.isoformat(), i.value)
        for i in Interaction.objects.all()
    }
    assert stored["u\\1"] == ("e\\N", "s\t1", "p\\0", "2024-01-01T10:00:00+00:00", None)
    assert stored["u\r\n2"][3:] == ("2024-01-01T08:00:00+00:00", 0.1)
    assert stored["u3"][3:] == ("2024-01-01T10:00:00.500000+00:00", None)
