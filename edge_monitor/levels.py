"""The alert levels: the one place they are named and ordered.

``ok`` → ``notice`` → ``warning`` → ``alarm`` grade the driver's state; ``fault`` (the camera cannot
see, or monitoring is degraded) ranks above them all and overrides them. The policy, the GPIO
patterns, the snapshot threshold and the config's choices all derive from :data:`LEVELS`.
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("ok", "notice", "warning", "alarm", "fault")
"""Every alert level, lowest first."""

FAULT = "fault"
DRIVER_LEVELS: tuple[str, ...] = tuple(level for level in LEVELS if level != FAULT)
"""The levels graded from the driver's state (all but ``fault``), lowest first."""

RANK: dict[str, int] = {level: i for i, level in enumerate(LEVELS)}
"""Each level's position in :data:`LEVELS` (higher is more urgent)."""


def rank(level: str) -> int:
    """The rank of ``level`` (0 for ``ok``).

    Raises:
        ValueError: ``level`` is not one of :data:`LEVELS`.
    """
    try:
        return RANK[level]
    except KeyError:
        raise ValueError(f"unknown alert level {level!r}; expected one of {', '.join(LEVELS)}") from None
