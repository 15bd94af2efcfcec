"""The funnel flag's statistics, checked against numbers worked out by hand (and normal tables)."""

from __future__ import annotations

import math

import pytest

from kpis.funnel import below_team, normal_cdf, proportion_below


def test_normal_cdf_matches_the_normal_table():
    assert normal_cdf(0) == 0.5
    assert normal_cdf(-1.96) == pytest.approx(0.0250, abs=5e-5)
    assert normal_cdf(-1.6449) == pytest.approx(0.0500, abs=5e-5)
    assert normal_cdf(1.96) == pytest.approx(0.9750, abs=5e-5)
    # The far tail keeps its digits (1 - erf would round it to 0).
    assert normal_cdf(-10) == pytest.approx(7.6199e-24, rel=1e-4)


def test_proportion_below_worked_example():
    # Rep 2 of 10 forward (20 %), the rest 12 of 20 (60 %). Pooled p = 14/30;
    # se = sqrt(14/30 · 16/30 · (1/10 + 1/20)) = sqrt(0.0373333) = 0.193218;
    # z = (0.2 − 0.6) / 0.193218 = −2.0702; Φ(−2.07) = 0.0192.
    test = proportion_below(successes=2, trials=10, other_successes=12, other_trials=20)
    assert test.z == pytest.approx(-2.0702, abs=1e-4)
    assert test.p_value == pytest.approx(0.0192, abs=1e-4)


def test_proportion_below_none_against_all():
    # 0/10 against 10/10: pooled 0.5, se = sqrt(0.25 · 0.2) = 0.223607, z = −4.4721.
    test = proportion_below(successes=0, trials=10, other_successes=10, other_trials=10)
    assert test.z == pytest.approx(-1 / math.sqrt(0.05), abs=1e-9)
    assert test.p_value == pytest.approx(3.87e-6, rel=1e-2)


def test_equal_shares_give_half_and_identical_groups_give_one():
    assert proportion_below(
        successes=5, trials=10, other_successes=10, other_trials=20
    ).p_value == pytest.approx(0.5)
    # Everyone converted everything: no spread, nothing to flag.
    alike = proportion_below(successes=10, trials=10, other_successes=20, other_trials=20)
    assert alike.p_value == 1


def test_a_better_rep_is_never_below():
    test = proportion_below(successes=12, trials=20, other_successes=2, other_trials=10)
    assert test.z == pytest.approx(2.0702, abs=1e-4)
    assert test.p_value == pytest.approx(1 - 0.0192, abs=1e-4)


def test_proportion_below_needs_trials():
    with pytest.raises(ValueError):
        proportion_below(successes=0, trials=0, other_successes=1, other_trials=2)


def test_below_team_flags_a_significant_gap():
    # Team 14 forward of 30 exits; the rep 2 of 10, so the rest is 12 of 20 (p = 0.0192).
    flag = below_team(rep_forward=2, rep_exits=10, team_forward=14, team_exits=30)
    assert flag is not None
    assert flag.p_value == pytest.approx(0.0192, abs=1e-4)


def test_below_team_needs_ten_exits_for_the_rep():
    # 2 of 9 against 12 of 20 would be p = 0.030, but 9 exits are too few to judge.
    assert below_team(rep_forward=2, rep_exits=9, team_forward=14, team_exits=29) is None


def test_below_team_needs_ten_exits_for_the_rest():
    # The rep 0 of 20, the rest 9 of 9: a huge gap, but the rest has only 9 exits.
    assert below_team(rep_forward=0, rep_exits=20, team_forward=9, team_exits=29) is None


def test_below_team_ignores_a_gap_that_is_not_significant():
    # 3 of 10 against 10 of 20: z = −1.042, p = 0.149 ≥ 0.05.
    assert below_team(rep_forward=3, rep_exits=10, team_forward=13, team_exits=30) is None


def test_below_team_without_counts():
    assert below_team(rep_forward=None, rep_exits=None, team_forward=14, team_exits=30) is None
