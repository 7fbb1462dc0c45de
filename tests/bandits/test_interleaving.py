import numpy as np
import pytest

from bandits import BanditError
from bandits.interleaving import (
    TIE,
    decision_credit,
    preferred_team,
    team_credit,
    team_draft_interleave,
    team_draft_multileave,
)

K = 10


def _random_rankings(rng, n_rankings=2, length=50, catalog=80):
    return [[f"p-{i}" for i in rng.permutation(catalog)[:length]] for _ in range(n_rankings)]


def test_it_fills_the_slot_with_distinct_items_from_the_rankings():
    rng = np.random.default_rng(1)
    for _ in range(500):
        a, b = _random_rankings(rng)
        result = team_draft_interleave(a, b, K, rng)
        assert len(result.items) == K == len(set(result.items))
        assert result.teams.dtype == np.int8
        assert result.teams.shape == (K,)
        for item, team in zip(result.items, result.teams, strict=True):
            assert item in (a, b)[team]


def test_each_item_is_its_teams_best_item_not_already_shown():
    rng = np.random.default_rng(2)
    a, b = _random_rankings(rng, length=20, catalog=25)
    result = team_draft_interleave(a, b, K, rng)
    for position, (item, team) in enumerate(zip(result.items, result.teams, strict=True)):
        shown = set(result.items[:position])
        assert item == next(candidate for candidate in (a, b)[team] if candidate not in shown)


def test_every_even_prefix_is_split_exactly_and_odd_positions_by_a_fair_coin():
    rng = np.random.default_rng(3)
    runs = 4_000
    teams = np.array([team_draft_interleave(*_random_rankings(rng), K, rng).teams for _ in range(runs)])
    b_in_prefix = np.cumsum(teams, axis=1)
    assert np.all(b_in_prefix[:, 1::2] == np.arange(1, K // 2 + 1))
    share_b_first = teams[:, 0::2].mean(axis=0)
    assert np.all(np.abs(share_b_first - 0.5) < 4 * np.sqrt(0.25 / runs))


def test_identical_rankings_keep_their_order_and_give_no_variant_an_edge():
    rng = np.random.default_rng(4)
    ranking = [f"p-{i}" for i in range(50)]
    examination = 1.0 / np.arange(1, K + 1)  # strongly position-biased clicks
    wins = np.zeros(2)
    for _ in range(20_000):
        result = team_draft_interleave(ranking, ranking, K, rng)
        assert list(result.items) == ranking[:K]
        clicked = rng.random(K) < 0.3 * examination
        wins += team_credit(result.teams, clicked)
    share_a = wins[0] / wins.sum()
    assert abs(share_a - 0.5) < 4 * np.sqrt(0.25 / wins.sum())


def test_a_short_ranking_stops_picking_and_the_other_fills_the_slot():
    rng = np.random.default_rng(5)
    result = team_draft_interleave(["x", "y"], [f"p-{i}" for i in range(20)], K, rng)
    assert len(result.items) == K
    assert (result.teams == 0).sum() == 2
    few = team_draft_interleave(["x", "y"], ["y", "z"], K, rng)
    assert sorted(few.items) == ["x", "y", "z"]


def test_overlapping_rankings_never_repeat_an_item():
    rng = np.random.default_rng(6)
    a = [1, 2, 3, 4, 5, 6]
    result = team_draft_interleave(a, a[::-1], 6, rng)
    assert sorted(result.items) == a


def test_the_same_seed_gives_the_same_list():
    a, b = _random_rankings(np.random.default_rng(7))
    first = team_draft_interleave(a, b, K, np.random.default_rng(8))
    second = team_draft_interleave(a, b, K, np.random.default_rng(8))
    assert first.items == second.items
    assert np.array_equal(first.teams, second.teams)


def test_more_than_62_rounds_draw_fresh_coins():
    rng = np.random.default_rng(9)
    a, b = list(range(200)), list(range(1000, 1200))
    result = team_draft_interleave(a, b, 300, rng)
    assert len(set(result.items)) == 300
    assert np.all(np.cumsum(result.teams)[1::2] == np.arange(1, 151))


def test_multileaving_splits_every_round_among_all_variants():
    rng = np.random.default_rng(10)
    runs, k = 3_000, 9
    teams = []
    for _ in range(runs):
        rankings = _random_rankings(rng, n_rankings=3)
        result = team_draft_multileave(rankings, k, rng)
        assert len(set(result.items)) == k
        teams.append(result.teams)
    counts = np.stack([(np.array(teams)[:, :3] == team).sum(axis=1) for team in range(3)], axis=1)
    assert np.all(counts == 1)  # each round gives one item to each variant
    first = np.array(teams)[:, 0]
    assert np.all(np.abs(np.bincount(first, minlength=3) / runs - 1 / 3) < 4 * np.sqrt(2 / 9 / runs))


@pytest.mark.parametrize(("rankings", "k"), [([[1, 2]], 1), ([[1], [2]], 0), ([[1], [2]], 2.5)])
def test_it_refuses_a_single_ranking_or_a_bad_length(rankings, k):
    with pytest.raises(BanditError):
        team_draft_multileave(rankings, k, np.random.default_rng(0))


def test_team_credit_counts_clicked_positions_per_team():
    teams = np.array([[0, 1, 1, 0], [1, 0, 0, 1]], dtype=np.int8)
    clicked = np.array([[True, True, True, False], [False, False, False, False]])
    assert team_credit(teams, clicked).tolist() == [[1, 2], [0, 0]]
    assert preferred_team(team_credit(teams, clicked)).tolist() == [1, TIE]
    assert preferred_team(np.array([[2, 2, 1], [0, 3, 1]])).tolist() == [TIE, 1]
    with pytest.raises(BanditError):
        team_credit(teams, clicked[:, :3])
    with pytest.raises(BanditError):
        team_credit(teams + 1, clicked)


def test_a_decision_is_credited_from_its_clicked_positions_once_each():
    teams = np.array([0, 1, 0, 1], dtype=np.int8)
    assert decision_credit(teams, [1, 1, 1, 2, 0]) == decision_credit(teams, [0, 1, 2])
    outcome = decision_credit(teams, [1, 1, 1, 2, 0])
    assert outcome.wins == (2, 1)
    assert outcome.preferred == 0
    assert decision_credit(teams, []).preferred == TIE
    assert decision_credit(teams, [1, 2]).preferred == TIE
    with pytest.raises(BanditError):
        decision_credit(teams, [4])
