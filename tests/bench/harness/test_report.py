"""The benchmarks' one percentile function agrees with numpy's default, and tables show gaps."""

import numpy as np
import pytest

from bench.harness.report import Column, percentile, table


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 101, 1000])
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 99.9, 100])
def test_it_matches_numpy_percentile(n, q):
    values = np.random.default_rng(n).lognormal(1.0, 1.0, n).tolist()
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-12)


def test_it_interpolates_between_ranks_not_nearest_rank():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(range(1, 101), 99) == pytest.approx(99.01)


def test_it_takes_values_in_any_order_and_any_iterable():
    assert percentile((x for x in [5, 1, 4, 2, 3]), 50) == 3


def test_it_has_no_percentile_of_nothing():
    assert percentile([], 99) is None


@pytest.mark.parametrize("q", [-1, 100.5])
def test_it_refuses_q_outside_0_to_100(q):
    with pytest.raises(ValueError, match="0..100"):
        percentile([1.0], q)


def test_a_table_shows_a_missing_value_as_a_dash():
    columns = (Column("endpoint", "endpoint", 10), Column("p99 ms", "p99_ms", 8, ".1f"))
    lines = table(columns, [{"endpoint": "healthz", "p99_ms": 1.234}, {"endpoint": "events"}]).splitlines()
    assert lines[0] == "endpoint    p99 ms"
    assert lines[2] == "healthz        1.2"
    assert lines[3] == "events           –"
