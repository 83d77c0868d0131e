"""srcore.config.sampling: the one spec of sampling options, checked once, its scale normalised,
made from a command line; the argparse types refuse in one line."""

import argparse
import re

import pytest

from srcore.commands.options import (
    add_sampling_options,
    cleanup_value,
    scale_value,
    seed_value,
    spec_of,
)
from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec, as_scale, check_tile


def test_a_whole_scale_becomes_an_int_everywhere():
    assert as_scale(4.0) == 4 and isinstance(as_scale(4.0), int) and as_scale(2.5) == 2.5
    assert SamplingSpec(scale=3.0).scale == 3 and isinstance(SamplingSpec(scale=3.0).scale, int)
    assert scale_value("2") == 2 and isinstance(scale_value("2"), int)
    assert f"x{SamplingSpec(scale=4.0).scale}" == "x4"  # as metrics.json and file names say it


@pytest.mark.parametrize(
    "field,value,allowed",
    [
        ("steps", 0, "1 or more"),
        ("steps", 1.5, "1 or more"),
        ("sampler", "euler", "one of ancestral, ddim"),
        ("samples", 0, "1 or more"),
        ("tile", -1, "0 or more"),
        ("overlap", -2, "0 or more"),
        ("seed", -1, "an integer in 0..2147483647"),
        ("seed", True, "an integer"),
        ("scale", 0.5, "a number in 1..8"),
        ("scale", float("nan"), "a number in 1..8"),
        ("cleanup", 1.5, "a number in [0, 1]"),
    ],
)
def test_each_option_is_checked_when_the_spec_is_made(field, value, allowed):
    with pytest.raises(UserError, match=f"^{field} .*: allowed {re.escape(allowed)}") as e:
        SamplingSpec(**{field: value})
    assert "\n" not in str(e.value)


def test_an_unknown_option_is_one_line_naming_the_options():
    assert SamplingSpec().updated(steps=2, seed=3) == SamplingSpec(steps=2, seed=3)
    with pytest.raises(UserError, match=r"^stepz: not a sampling option \(allowed: steps, "):
        SamplingSpec().updated(stepz=2)
    with pytest.raises(UserError, match="^steps 0: allowed 1 or more"):
        SamplingSpec().updated(steps=0)  # the new values are checked too


def test_the_tile_rule_names_the_grid():
    check_tile(0, 32, 64)  # the whole image
    check_tile(128, 32, 64)
    for tile, overlap in ((100, 32), (64, 64), (-64, 0)):
        with pytest.raises(UserError, match=f"tile {tile}, overlap {overlap}: .* multiple of 64"):
            check_tile(tile, overlap, 64)


def test_a_command_line_makes_the_spec_and_its_types_refuse_in_one_line():
    ap = argparse.ArgumentParser()
    add_sampling_options(ap, tile=1024)
    ap.add_argument("--seed", type=seed_value, default=0)
    ap.add_argument("--scale", type=scale_value)
    args = ap.parse_args(["--steps", "3", "--ensemble", "--scale", "2.5", "--cleanup", "0.25"])
    spec = spec_of(args)  # --device is not a sampling option: left out
    assert spec == SamplingSpec(steps=3, ensemble=True, tile=1024, scale=2.5, cleanup=0.25)
    for kind, text in ((cleanup_value, "2"), (seed_value, "-3"), (scale_value, "x4")):
        with pytest.raises(argparse.ArgumentTypeError, match=f"^{text}: allowed"):
            kind(text)
