"""The two input checks every entry point uses: a name among the accepted ones, a finite number in range. Each
raises ValueError naming the value and what is accepted (the CLI turns it into exit 2)."""
from __future__ import annotations

import math


def check_choice(what: str, value, accepted) -> None:
    if value not in accepted:
        raise ValueError(f"unknown {what} {value!r}; accepted: {', '.join(map(str, accepted))}")


def check_number(name: str, value, low, high, kind=float) -> None:
    """A finite number of the right kind in [low, high] (None passes: the field's default meaning)."""
    if value is None:
        return
    accepted = f"an integer in [{low}, {high}]" if kind is int else f"a finite number in [{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not float(value).is_integer()):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
