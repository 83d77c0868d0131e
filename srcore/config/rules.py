"""How a parameter is declared: `param(default, meaning, rule)`, the rules (a check and what it
allows, in words) and `Group`, the base of srcore.config.schema's parameter groups. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, field, fields
from pathlib import PurePath
from typing import Any

Rule = tuple[Callable[[Any], bool], str]  # (check, what is allowed, in words)


AUTO = "auto"


def param(
    default: Any,
    meaning: str,
    rule: Rule | None = None,
    weights: bool = True,
    key: str = "",
    auto: tuple[Any, Any] | None = None,
) -> Any:
    """A dataclass field with its one-line meaning, its rule, whether it changes the trained
    weights, and its params.yaml key when that is not `group.name` (kappa is top level). `auto`:
    (on bicubic LR, on degraded LR) - the field defaults to "auto", which takes the first value for
    the clean model and the second for the photo model (train.degradation real or realesrgan);
    srcore.config.params resolves it, a config made in code takes the first."""
    if auto is not None:
        default = AUTO
        meaning += f"; auto: {_words(auto[0])} on bicubic LR, {_words(auto[1])} on degraded LR"
    metadata = {"meaning": meaning, "rule": rule, "weights": weights, "key": key, "auto": auto}
    return field(default=default, metadata=metadata)


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:g}" for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def at_least(lo: float) -> Rule:
    return (lambda v: v >= lo), f">= {lo}"


def above(lo: float) -> Rule:
    return (lambda v: v > lo), f"> {lo}"


def within(lo: float, hi: float) -> Rule:
    return (lambda v: lo <= v <= hi), f"in {lo}..{hi}"


def one_of(*values: Any) -> Rule:
    return (lambda v: v in values), "one of: " + ", ".join(map(str, values))


def odd_or_zero(v: int) -> bool:
    """0, or an odd integer >= 3 (a window side)."""
    return v == 0 or (v >= 3 and v % 2 == 1)


def folders(v: list | tuple) -> bool:
    """Paths whose folder names are all set and distinct (each names a metrics block)."""
    names = [PurePath(s).name if isinstance(s, str) else "" for s in v]
    return all(names) and len(set(names)) == len(names)


def numbers(v: list | tuple, n: int) -> bool:
    """Exactly n numbers (booleans are not numbers here)."""
    return len(v) == n and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)


def span(lo: float, hi: float, around: float | None = None) -> Rule:
    """A [low, high] range of draws inside lo..hi (and around `around`, when given)."""
    if around is not None:
        return (
            (lambda v: numbers(v, 2) and lo <= v[0] <= around <= v[1] <= hi),
            f"two numbers, {lo} <= low <= {around} <= high <= {hi}",
        )
    return (
        (lambda v: numbers(v, 2) and lo <= v[0] <= v[1] <= hi),
        f"two numbers, {lo} <= low <= high <= {hi}",
    )


def chances(v: list | tuple) -> bool:
    """Three probabilities that sum to 1."""
    return numbers(v, 3) and min(v) >= 0 and abs(sum(v) - 1) < 1e-6


PROBABILITY = ((lambda v: 0 <= v <= 1), "in [0, 1]")
CHANCES = (chances, "3 probabilities (up, down, keep) that sum to 1")


def scales(v: list | tuple) -> bool:
    """A non-empty list of integers >= 1."""
    return len(v) > 0 and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in v)


MAX_SCALE = 8  # a 128-pixel patch keeps an LR of 16 pixels (the default 192: 24)


def scale_range(v: list | tuple) -> bool:
    """[] (one scale) or [low, high] with 1 <= low < high <= MAX_SCALE."""
    return len(v) == 0 or (numbers(v, 2) and 1 <= v[0] < v[1] <= MAX_SCALE)


def scale_list(v: list | tuple) -> bool:
    """Distinct numbers in 1..MAX_SCALE."""
    return numbers(v, len(v)) and all(1 <= x <= MAX_SCALE for x in v) and len(set(v)) == len(v)


class Group:
    """Shared helpers of the parameter groups."""

    def __post_init__(self) -> None:
        for f in fields(self):  # an auto left in a config made in code: the clean model's value
            if f.metadata.get("auto") and getattr(self, f.name) == AUTO:
                object.__setattr__(self, f.name, f.metadata["auto"][0])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} settings {unknown}; allowed: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
