"""CSV exports carry figures, not float artefacts."""

import csv
import io
from datetime import UTC, datetime

from experiments.reports.csv_export import EXPERIMENT_LIST_COLUMNS, experiment_list_csv


def test_the_list_csv_writes_six_significant_digits_and_iso_times():
    row = dict.fromkeys(EXPERIMENT_LIST_COLUMNS)
    row |= {
        "key": "k",
        "traffic_share": 0.2666666666045785,
        "uplift": 37.807298562624936,
        "decisions": 96,
        "started_at": datetime(2026, 12, 7, 5, 6, 27, tzinfo=UTC),
        "guardrail_breaches": [],
    }
    (parsed,) = csv.DictReader(io.StringIO(experiment_list_csv([row])))
    assert parsed["traffic_share"] == "0.266667"
    assert parsed["uplift"] == "37.8073"
    assert parsed["decisions"] == "96"
    assert parsed["started_at"] == "2026-12-07T05:06:27+00:00"
