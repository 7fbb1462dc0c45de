"""/reports/, its CSV and JSON, the admin changelist and the admin index show the same overview rows."""

import csv
import io

import pytest

from experiments.services.demo_world import groups_ensure
from tests.experiments.overview_helpers import READY, experiment_with_snapshot
from tests.experiments.roles import role_client


@pytest.fixture
def experiments(db):
    groups_ensure()
    return {
        "going": experiment_with_snapshot("going", trials=(12000, 13450)),
        "ready": experiment_with_snapshot("ready", stopping=READY, prob_best=(0.01, 0.99)),
        "guarded": experiment_with_snapshot("guarded", breached="B"),
        "skewed": experiment_with_snapshot("skewed", policy="fixed", trials=(5000, 4500)),
        "done": experiment_with_snapshot("done", status="concluded"),
    }


@pytest.fixture
def analyst(experiments):
    return role_client("ana", "analyst")


def test_the_list_shows_each_experiment_s_leader_figures_and_state_and_links_its_report(analyst):
    page = analyst.get("/reports/").content.decode()
    row = page.split('<tr data-key="going">', 1)[1].split("</tr>", 1)[0]
    assert '<a href="/reports/experiments/going/" class="key">going</a>' in row
    assert "keep going: needs 95%, has 56.0%" in row
    assert "going-b" in row
    for shown in ("56.0%", "+12.0%", "+7.0%\N{NO-BREAK SPACE}…\N{NO-BREAK SPACE}+17.0%", "25,450"):
        assert shown in row, shown
    assert 'class="state state-ready">ready to conclude<' in page
    assert "guardrail breached: guarded-b on click" in page
    assert "sample ratio mismatch: do not trust the results" in page
    assert "reports/reports.css" in page
    assert "favicon.svg" in page


def test_the_list_filters_by_state_and_says_how_many_each_state_holds(analyst):
    page = analyst.get("/reports/?state=ready").content.decode()
    assert '<tr data-key="ready">' in page
    assert '<tr data-key="going">' not in page
    assert "<strong>Ready to conclude (1)</strong>" in page
    assert '<a href="?state=srm">Sample ratio mismatch (1)</a>' in page
    assert '<a href="/reports/">All (5)</a>' in page
    assert 'href="?format=csv&amp;state=ready"' in page
    unknown = analyst.get("/reports/?state=nonsense").content.decode()
    assert unknown.count("<tr data-key=") == 5


def test_the_list_is_sortable_in_the_page(analyst):
    page = analyst.get("/reports/").content.decode()
    assert '<table id="experiments" class="sortable">' in page
    assert '<th data-type="number"><button type="button">P(best)</button></th>' in page
    assert '<td data-value="25450">25,450</td>' in page
    assert 'id="state-order"' in page


def test_csv_and_json_carry_the_same_fields_as_the_page_and_the_old_ones(analyst):
    rows = list(csv.DictReader(io.StringIO(analyst.get("/reports/?format=csv").content.decode())))
    data = analyst.get("/api/v1/experiments/").json()
    old = {"key", "slot", "status", "policy", "reward_metric", "allocation_version", "started_at", "winner"}
    new = {"leader", "prob_best", "uplift", "uplift_ci_low", "uplift_ci_high", "traffic_share", "decisions"}
    new |= {"state", "stopping_state"}
    assert set(rows[0]) >= old | new
    assert set(data[0]) >= old | new
    assert [r["key"] for r in rows] == [d["key"] for d in data]
    going_csv = next(r for r in rows if r["key"] == "going")
    going_json = next(d for d in data if d["key"] == "going")
    assert going_csv["stopping_state"] == going_json["stopping_state"] == "keep going: needs 95%, has 56.0%"
    assert int(going_csv["decisions"]) == going_json["decisions"] == 25450
    assert float(going_csv["prob_best"]) == going_json["prob_best"] == 0.56


def test_csv_and_json_filter_by_state_like_the_page(analyst):
    rows = list(csv.DictReader(io.StringIO(analyst.get("/reports/?format=csv&state=srm").content.decode())))
    assert [r["key"] for r in rows] == ["skewed"]
    assert [d["key"] for d in analyst.get("/api/v1/experiments/?state=srm").json()] == ["skewed"]


def test_the_admin_changelist_has_the_same_columns_a_state_filter_and_report_links(analyst, experiments):
    page = analyst.get("/admin/experiments/experiment/").content.decode()
    for header in ("Stopping state", "Leader", "Uplift vs control", "Decisions"):
        assert header in page, header
    assert "keep going: needs 95%, has 56.0%" in page
    assert "P(best) 56.0% · traffic 52.2%" in page
    assert "+12.0%" in page
    assert "+7.0% … +17.0%" in page
    assert "25,450" in page
    assert '<a href="/reports/experiments/going/" class="overview-state state-keep_going">' in page
    filtered = analyst.get("/admin/experiments/experiment/?state=guardrail_breached").content.decode()
    assert "/reports/experiments/guarded/" in filtered
    assert "/reports/experiments/going/" not in filtered


def test_the_admin_changelist_reads_a_page_in_a_fixed_number_of_queries(
    analyst, django_assert_max_num_queries
):
    analyst.get("/admin/experiments/experiment/")  # sessions, permissions and settings warmed up
    with django_assert_max_num_queries(20):
        analyst.get("/admin/experiments/experiment/")
    for n in range(6):
        experiment_with_snapshot(f"more-{n}")
    with django_assert_max_num_queries(20):
        analyst.get("/admin/experiments/experiment/")


def test_the_admin_index_lists_what_needs_attention_and_links_the_reports(analyst, experiments):
    page = analyst.get("/admin/").content.decode()
    panel = page.split('id="needs-attention"', 1)[1].split("</table>", 1)[0]
    assert "Sample ratio mismatch (1)" in panel
    assert "Guardrail breached (1)" in panel
    assert "Ready to conclude (1)" in panel
    assert '<a href="/reports/experiments/ready/">ready</a>' in panel
    assert f'href="/admin/experiments/experiment/{experiments["guarded"].id}/change/"' in panel
    assert "guarded-b on click" in panel
    assert "/reports/experiments/going/" not in panel
    assert "/reports/experiments/done/" not in panel
    assert '<a href="/reports/">Experiments</a>' in page
    assert '<a href="/reports/program/">Program</a>' in page
    assert "favicon.svg" in page


@pytest.mark.django_db
def test_the_admin_index_says_when_nothing_needs_attention():
    groups_ensure()
    experiment_with_snapshot("going")
    page = role_client("ana", "analyst").get("/admin/").content.decode()
    assert "Nothing needs attention" in page
