"""Medians, ratios, interleaving and loss agreement: plain Python, no torch."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline; None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def interleaved(contenders: Sequence[T], repeat: int) -> list[T]:
    """The order of round `repeat`: the contenders rotated by one place per round.

    Each contender runs once per round, and over the rounds each takes every position, so
    a slow drift of the machine (thermal, a neighbour's load) spreads over all of them.
    """
    if not contenders:
        return []
    shift = repeat % len(contenders)
    return [*contenders[shift:], *contenders[:shift]]


def max_relative_difference(values: Sequence[float], reference: Sequence[float]) -> float:
    """The largest |a - b| / max(|b|, tiny) over paired values; inf when the lengths differ."""
    if len(values) != len(reference):
        return float("inf")
    return max(
        (abs(a - b) / max(abs(b), 1e-12) for a, b in zip(values, reference, strict=True)),
        default=0.0,
    )


def check_agreement(
    losses: Mapping[str, Sequence[float]], baseline: str, first: float, later: float
) -> str:
    """A sentence on how closely every contender's per-epoch losses match `baseline`'s.

    The first epoch must agree within `first` (relative): same weights, same batches, only
    rounding differs. Later epochs within `later`: rounding differences (a matrix product
    summed in another order) grow as training goes on, but a different data order, learning
    rate or clipping moves the losses far more. Raises AssertionError naming the contender
    otherwise: then the contenders did not do the same work, and their times do not compare.
    """
    reference = losses[baseline]
    worst = {"first": (0.0, baseline), "later": (0.0, baseline)}
    for name, values in losses.items():
        if len(values) != len(reference):
            raise AssertionError(
                f"{name}: {len(values)} epochs of losses, {baseline} has {len(reference)}"
            )
        for part, tolerance, pairs in (
            ("first", first, (values[:1], reference[:1])),
            ("later", later, (values[1:], reference[1:])),
        ):
            difference = max_relative_difference(*pairs)
            if difference > tolerance:
                raise AssertionError(
                    f"{name}: losses {list(values)} differ from {baseline}'s "
                    f"{list(reference)} by {difference:.2e} (relative) in the {part} epoch(s), "
                    f"more than {tolerance:.0e}"
                )
            if difference >= worst[part][0]:
                worst[part] = (difference, name)
    return (
        f"the per-epoch training losses of all {len(losses)} runs agree with {baseline}'s: "
        f"first epoch within {worst['first'][0]:.1e} (relative; tolerance {first:.0e}), "
        f"later epochs within {worst['later'][0]:.1e} (tolerance {later:.0e})"
    )


def spread(values: Sequence[float]) -> tuple[float, float] | None:
    """(min, max), or None for no values."""
    return (min(values), max(values)) if values else None


def paired_ratio(
    rounds: Sequence[float], baseline_rounds: Sequence[float]
) -> tuple[float, float, float] | None:
    """Median, min and max over the pairs of value / the baseline's value that ran beside it.

    Paired values ran turn by turn, milliseconds to a second apart: a drift of a shared
    machine (a neighbour's load, the clock) cancels out of their ratio, where a ratio of
    two medians over the whole section keeps whatever drift fell unevenly. None without
    values, or when the counts differ.
    """
    if not rounds or len(rounds) != len(baseline_rounds) or 0 in baseline_rounds:
        return None
    ratios = [value / base for value, base in zip(rounds, baseline_rounds, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def summarize(
    name: str,
    label: str,
    samples: Sequence[float],
    note: str = "",
    rounds: Sequence[float] = (),
) -> dict[str, Any]:
    """A result row: the contender, its samples' median, min, max and count, and a note.

    `rounds` holds one value per epoch, in the order the turns ran, for ratios paired
    epoch by epoch with another row (`paired_ratio`).
    """
    low_high = spread(samples)
    return {
        "name": name,
        "label": label,
        "median": median(samples),
        "min": low_high[0] if low_high else None,
        "max": low_high[1] if low_high else None,
        "n": len(samples),
        "samples": list(samples),
        "rounds": list(rounds),
        "note": note,
    }
