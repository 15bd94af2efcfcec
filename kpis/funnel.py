"""Is a rep significantly worse than the rest of the team at a funnel stage?

A one-sided two-proportion z-test on the stage's exits: the rep's exited-forward / exited (the
numerator and denominator of `stage_conversion`) against the rest of the team's (the team's
counts minus the rep's). Pure functions, no database: the team page feeds them stored counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Below this many exits (for the rep, or for the rest of the team) a difference is noise.
MIN_EXITS = 10
ALPHA = 0.05


@dataclass(frozen=True)
class ProportionTest:
    z: float
    # One-sided: the probability of a z this low or lower if the rep converted like the rest.
    p_value: float


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal distribution function, through the complementary error function
    (accurate in the far tails, where 1 - erf loses digits)."""
    return 0.5 * math.erfc(-z / math.sqrt(2))


def proportion_below(
    *, successes: float, trials: float, other_successes: float, other_trials: float
) -> ProportionTest:
    """The pooled two-proportion z-test of "the first proportion is lower than the second";
    z = 0 and p = 1 when the pooled share is 0 or 1 (both groups alike, nothing to test)."""
    if trials <= 0 or other_trials <= 0:
        raise ValueError("both groups need at least one trial")
    pooled = (successes + other_successes) / (trials + other_trials)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / trials + 1 / other_trials))
    if spread == 0:
        return ProportionTest(z=0.0, p_value=1.0)
    z = (successes / trials - other_successes / other_trials) / spread
    return ProportionTest(z=z, p_value=normal_cdf(z))


def below_team(
    *,
    rep_forward: float | None,
    rep_exits: float | None,
    team_forward: float | None,
    team_exits: float | None,
    min_exits: int = MIN_EXITS,
    alpha: float = ALPHA,
) -> ProportionTest | None:
    """The test when the rep converts significantly worse than the rest of the team (the team
    minus the rep) at a stage, else None: both need ≥ `min_exits` exits and p < `alpha`."""
    if None in (rep_forward, rep_exits, team_forward, team_exits):
        return None
    rest_forward = team_forward - rep_forward
    rest_exits = team_exits - rep_exits
    if rep_exits < min_exits or rest_exits < min_exits:
        return None
    test = proportion_below(
        successes=rep_forward,
        trials=rep_exits,
        other_successes=rest_forward,
        other_trials=rest_exits,
    )
    return test if test.p_value < alpha else None
