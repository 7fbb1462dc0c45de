"""Uplift against an experiment's control, shared by the allocation snapshot and the report.

An experiment made in the admin always has exactly one control (the arm formset insists on it),
but arms written another way (the shell, a data migration, a fixture) may have none. Both the
allocation and the report then compare against the first arm by key, so the figures stay
readable instead of the report failing; the report says which arm it compared against.
"""

from bandits import BanditError, uplift_vs_control

EMPTY_UPLIFT = {"uplift": None, "uplift_ci_low": None, "uplift_ci_high": None, "prob_beats_control": None}


def control_position(arms) -> int:
    """Index of the control among ``arms`` (ordered by key), or 0 when no arm is marked control."""
    return next((i for i, arm in enumerate(arms) if arm.is_control), 0)


def uplift_rows(post, *, control: int, draws: int, seed: int) -> list[dict]:
    """Relative uplift vs control per arm with its 95% interval and P(beats control).

    While the control has no data to divide by, every arm gets the same fields set to None.
    """
    try:
        rows = uplift_vs_control(post, control=control, draws=draws, seed=seed).rows()
    except BanditError:
        return [dict(EMPTY_UPLIFT) for _ in range(post.n_arms)]
    for row in rows:
        del row["control"]  # the caller states which arm is the control from the arm itself
    return rows
