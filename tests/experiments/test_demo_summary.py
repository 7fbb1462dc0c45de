from experiments.demo_summary import COLUMNS, demo_summary_table

ROWS = [
    {
        "slot": "pdp_similar",
        "experiment": "pdp-similar-demo-1",
        "leader": "pdp_similar-hybrid",
        "prob_best": 0.9712,
        "rate": 0.0412,
        "trials": 12_345,
    },
    {
        "slot": "email_recs",
        "experiment": "email-recs-demo-1",
        "leader": None,
        "prob_best": 0.0,
        "rate": 0.0,
        "trials": 0,
    },
]


def test_the_summary_is_a_table_with_headers_and_the_leaders_own_figures():
    lines = demo_summary_table(ROWS, base_url="http://127.0.0.1:8031/").splitlines()
    assert lines[0].split("  ")[0] == "slot"
    for column in COLUMNS:
        assert column in lines[0]
    assert set(lines[1]) == {"-", " "}
    similar = lines[2]
    assert similar.split()[:5] == ["pdp_similar", "pdp_similar-hybrid", "97.1%", "4.1%", "12,345"]
    assert similar.endswith("http://127.0.0.1:8031/reports/experiments/pdp-similar-demo-1/")
    assert lines[3].split()[:5] == ["email_recs", "–", "–", "–", "0"]
    assert lines[-1].endswith("http://127.0.0.1:8031/reports/program/")


def test_the_columns_line_up():
    lines = demo_summary_table(ROWS, base_url="http://127.0.0.1:8000").splitlines()
    report_at = lines[0].index("report")
    assert all(line[report_at:].startswith("http") for line in lines[2:4])
