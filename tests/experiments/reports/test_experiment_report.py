import csv
import io

import numpy as np
import pytest

from bandits import ope
from experiments.models import Arm, Experiment, Guardrail, PosteriorEpoch
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import ArmSpec, experiment_create, experiment_start
from tests.experiments.roles import exposures_log, posteriors_set, role_client

CORE = {"experiment", "slot", "status", "reward_metric", "allocation_version", "arms"}
CORE_ARM = {"arm", "variant", "control", "trials", "successes", "mean", "ci_low", "ci_high"}
CORE_ARM |= {"prob_best", "expected_loss", "weight"}


@pytest.fixture
def analyst(storefront):
    return role_client("ana", "analyst")


@pytest.fixture
def similar(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    Guardrail.objects.create(experiment=experiment, metric="click", tolerance=0.05, breach_probability=0.9)
    posteriors_set(experiment, {"A": (4000, 200), "B": (4000, 120)})
    allocations_recompute(experiment_ids=[experiment.id])
    experiment.refresh_from_db()
    posteriors_set(experiment, {"A": (5000, 250), "B": (5000, 150)})
    return experiment


@pytest.mark.django_db
def test_the_report_json_keeps_its_core_and_adds_the_analyst_sections(analyst, similar):
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    assert set(report) >= CORE | {"stopping", "guardrails", "epochs", "off_policy", "history", "densities"}
    assert [a["arm"] for a in report["arms"]] == ["A", "B"]
    a, b = report["arms"]
    assert set(a) >= CORE_ARM | {"uplift", "uplift_ci_low", "uplift_ci_high", "prob_beats_control"}
    assert a["uplift"] is None
    assert b["uplift"] == pytest.approx(151 / 251 - 1, abs=0.03)
    assert b["uplift_ci_low"] < b["uplift"] < b["uplift_ci_high"] < 0
    assert b["prob_beats_control"] < 0.01
    assert report["stopping"]["summary"].startswith(
        "Ready to conclude: pdp_similar-legacy (arm A) is best with > 99.9% probability"
    )
    guardrail = report["guardrails"][0]
    assert guardrail["metric"] == "click"
    assert guardrail["breach"] is True
    assert report["history"]["series"]["weight"]["B"][-1] < 0.5
    assert len(report["densities"]["arms"][0]["density"]) == len(report["densities"]["x"])


@pytest.mark.django_db
def test_the_report_page_draws_charts_warns_of_breaches_and_states_the_stopping_rule(analyst, similar):
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    assert "Guardrail breached: click" in page
    assert "is best with &gt; 99.9% probability; choosing it now risks" in page
    for chart in ("chart-rates", "chart-densities", "chart-allocation", "chart-prob-best", "chart-reward"):
        assert f'id="{chart}"' in page
    assert "/reports/assets/plotly-" in page
    assert "cdn.plot.ly" not in page
    assert "than a 50/50 test" in page


@pytest.mark.django_db
def test_plotly_js_is_served_by_the_app(analyst, similar):
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    src = page.split('<script src="', 1)[1].split('"', 1)[0]
    response = analyst.get(src)
    assert response.status_code == 200
    assert b"plotly" in response.content[:2000].lower()


@pytest.mark.django_db
def test_every_report_exports_csv(analyst, similar):
    rows = list(
        csv.DictReader(
            io.StringIO(analyst.get("/reports/experiments/pdp-similar-test/?format=csv").content.decode())
        )
    )
    assert [r["arm"] for r in rows] == ["A", "B"]
    assert int(rows[0]["trials"]) == 5000
    listing = analyst.get("/reports/?format=csv")
    assert listing["Content-Type"].startswith("text/csv")
    assert b"pdp-similar-test" in listing.content
    program = analyst.get("/reports/program/?format=csv").content.decode()
    assert program.splitlines()[0].startswith("metric,holdout,program,uplift,ci_low,ci_high,")


@pytest.mark.django_db
def test_off_policy_estimates_match_the_bandits_package_beside_the_naive_mean(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-for-you-test")
    rng = np.random.default_rng(3)
    rows = []
    for n in range(600):
        p_b = 0.2 if n < 300 else 0.8  # the bandit moved traffic to B while the base rate dropped
        arm = "B" if rng.random() < p_b else "A"
        rate = (0.10 if n < 300 else 0.04) * (1.5 if arm == "B" else 1.0)
        rows.append((arm, p_b if arm == "B" else 1 - p_b, bool(rng.random() < rate)))
    exposures_log(experiment, rows)
    report = analyst.get("/api/v1/experiments/pdp-for-you-test/report").json()["off_policy"]
    reward = np.array([r[2] for r in rows], dtype=float)
    propensity = np.array([r[1] for r in rows])
    target_b = np.array([r[0] == "B" for r in rows], dtype=float)
    b = report["arms"][1]
    assert b["ips"] == pytest.approx(ope.ips(reward, propensity, target_b))
    assert b["snips"] == pytest.approx(ope.snips(reward, propensity, target_b))
    assert b["naive"] == pytest.approx(reward[target_b > 0].mean())
    assert b["snips_ci_low"] <= b["snips"] <= b["snips_ci_high"]
    assert "propensity" in report["explanation"]


@pytest.mark.django_db
def test_the_epoch_stratified_estimate_flags_drift_the_pooled_one_hides(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-top-in-category-test")
    a, b = experiment.arms.order_by("key")
    # Epoch 1: high base rate, A favoured; epoch 2: low base rate, B favoured. B is truly +20% in each.
    for arm, version, trials, clicks in [
        (a, 1, 9000, 900),
        (b, 1, 1000, 120),
        (a, 2, 1000, 20),
        (b, 2, 9000, 216),
    ]:
        PosteriorEpoch.objects.create(arm=arm, allocation_version=version, trials=trials, clicks=clicks)
    epochs = analyst.get("/api/v1/experiments/pdp-top-in-category-test/report").json()["epochs"]
    row_b = epochs["arms"][1]
    assert row_b["stratified_uplift"] == pytest.approx(0.2, abs=0.01)
    assert row_b["pooled_uplift"] < 0
    assert epochs["disagree"] is True
    assert "drifted" in epochs["note"]


@pytest.mark.django_db
def test_a_fixed_split_shows_the_sample_ratio_check_loudly_and_the_always_valid_interval(analyst, storefront):
    slot = Experiment.objects.get(key="pdp-accessories-test").slot
    variants = list(slot.variants.order_by("key"))
    Experiment.objects.filter(key="pdp-accessories-test").update(status="concluded")
    experiment = experiment_create(
        key="pdp-accessories-fixed",
        slot=slot,
        policy="fixed",
        arms=[
            ArmSpec("A", variants[1], is_control=True, fixed_weight=0.5),
            ArmSpec("B", variants[0], fixed_weight=0.5),
        ],
    )
    experiment_start(experiment=experiment)
    posteriors_set(experiment, {"A": (6000, 300), "B": (4000, 260)})
    report = analyst.get("/api/v1/experiments/pdp-accessories-fixed/report").json()["fixed_split"]
    assert report["srm"]["mismatch"] is True
    sequential = report["sequential"][0]
    assert sequential["ci_low"] < sequential["difference"] < sequential["ci_high"]
    page = analyst.get("/reports/experiments/pdp-accessories-fixed/").content.decode()
    assert "SAMPLE RATIO MISMATCH" in page
    assert Arm.objects.filter(experiment=experiment).count() == 2


@pytest.mark.django_db
def test_the_report_json_stays_fast(analyst, similar):
    import time

    start = time.perf_counter()
    assert analyst.get("/api/v1/experiments/pdp-similar-test/report").status_code == 200
    assert time.perf_counter() - start < 5.0


@pytest.mark.django_db
def test_a_report_without_a_marked_control_compares_against_the_first_arm(analyst, similar):
    Arm.objects.filter(experiment=similar).update(is_control=False)
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    assert report["control_arm"] == "A"
    a, b = report["arms"]
    assert [a["control"], b["control"]] == [False, False]
    assert a["uplift"] is None
    assert b["uplift"] == pytest.approx(151 / 251 - 1, abs=0.03)


@pytest.mark.django_db
def test_guardrail_rules_the_report_cannot_check_are_listed_with_the_reason(analyst, similar):
    # Rows written around the admin's validation (a shell, a bulk update) are reported, not fatal.
    Guardrail.objects.bulk_create(
        [
            Guardrail(experiment=similar, metric="purchase", tolerance=5),
            Guardrail(experiment=similar, metric="add_to_cart", tolerance=0.05, breach_probability=0.2),
            Guardrail(experiment=similar, metric="dwell", tolerance=0.05),
        ]
    )
    response = analyst.get("/api/v1/experiments/pdp-similar-test/report")
    assert response.status_code == 200
    guardrails = response.json()["guardrails"]
    assert [(g["metric"], g["breach"]) for g in guardrails] == [
        ("click", True),
        ("add_to_cart", False),
        ("dwell", False),
        ("purchase", False),
    ]
    assert "breach probability is in [0.5, 1)" in guardrails[1]["note"]
    assert "metric is one of click, add_to_cart, purchase, revenue" in guardrails[2]["note"]
    assert "relative drop in [0, 1)" in guardrails[3]["note"]


@pytest.mark.django_db
def test_the_report_names_the_breached_arm_its_metric_and_since_when(analyst, similar):
    b = similar.arms.get(key="B")
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    a_row, b_row = report["arms"]
    assert a_row["guardrail_breach"] is None
    assert b_row["guardrail_breach"]["metric"] == "click"
    assert b_row["guardrail_breach"]["since"] == b.guardrail_breached_at.isoformat()
    assert b_row["guardrail_breach"]["allocation_version"] == similar.allocation_version
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    since = b.guardrail_breached_at.strftime("%Y-%m-%d %H:%M")
    assert f"Guardrail breached: arm B on click\n  since {since} UTC" in page
    assert "held at the exploration floor" in page


@pytest.mark.django_db
def test_a_fixed_splits_always_valid_test_is_tuned_to_the_experiments_minimum_detectable_effect(
    analyst, storefront
):
    slot = Experiment.objects.get(key="pdp-accessories-test").slot
    variants = list(slot.variants.order_by("key"))
    Experiment.objects.filter(key="pdp-accessories-test").update(status="concluded")
    experiment = experiment_create(
        key="pdp-accessories-mde",
        slot=slot,
        policy="fixed",
        arms=[ArmSpec("A", variants[1], is_control=True), ArmSpec("B", variants[0])],
    )
    assert experiment.minimum_detectable_effect == 0.004  # the default: 10% uplift on a 4% CTR
    experiment_start(experiment=experiment)
    posteriors_set(experiment, {"A": (50_000, 2_000), "B": (50_000, 2_250)})
    widths = {}
    for mde in (0.004, 0.05):
        Experiment.objects.filter(pk=experiment.pk).update(minimum_detectable_effect=mde)
        report = analyst.get("/api/v1/experiments/pdp-accessories-mde/report").json()["fixed_split"]
        assert report["mde"] == mde
        assert "most powerful" in report["mde_note"]
        sequential = report["sequential"][0]
        widths[mde] = sequential["ci_high"] - sequential["ci_low"]
    # at an observed difference of 0.5 pp, the test tuned to 0.4 pp is sharper than one tuned to 5 pp
    assert widths[0.004] < widths[0.05]
