"""params.yaml: read and validate every key before any heavy work, into typed configs; write the
defaults.

The keys, types, defaults, rules and meanings come from srcore.config.schema alone. A wrong value
stops with one message naming the key, its value and what is allowed; an unknown key (a typo) stops
too, so a setting is never silently ignored. `python -m srcore.config.params` prints the defaults as
a commented params.yaml (the committed file is exactly that; a test keeps them in step).
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from srcore.common.errors import UserError
from srcore.config.rules import AUTO
from srcore.config.schema import GROUPS, Params, RealConfig, tile_fits, tile_rule, yaml_key


class ParamError(UserError, ValueError):
    pass


_LIST = (list, tuple)
_TYPES = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "tuple[int, ...]": _LIST,
    "tuple[str, ...]": _LIST,
    "tuple[float, ...]": _LIST,
}
_TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}
_OR_AUTO = " | str"  # a field typed `X | str` takes auto besides an X


def schema() -> dict[str, tuple[str, str, Any]]:
    """{params.yaml key: (group, field name, dataclass field)} for every parameter."""
    return {yaml_key(g, f): (g, f.name, f) for g, cls in GROUPS.items() for f in fields(cls)}


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        out |= _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def _fail(where: str, key: str, value: Any, allowed: str) -> None:
    raise ParamError(f"{where}: {key} = {value!r} is not allowed: must be {allowed}")


def allowed(f) -> str:
    """What a field allows, in words: 'an integer >= 1', 'a number in (0, 1]', 'one of: 2, 3, 4';
    'auto or ...' for a field that takes auto."""
    rule, base = f.metadata.get("rule"), f.type.removesuffix(_OR_AUTO)
    words = _TYPE_WORDS.get(base, "a list")
    if rule is not None:
        words = f"{words} {rule[1]}" if rule[1].startswith((">", "<", "in ")) else rule[1]
    return f"{AUTO} or {words}" if f.type.endswith(_OR_AUTO) else words


def _check(where: str, key: str, f, value: Any) -> None:
    rule, base = f.metadata.get("rule"), f.type.removesuffix(_OR_AUTO)
    if f.type.endswith(_OR_AUTO) and value == AUTO:
        return
    if (
        (isinstance(value, bool) and base != "bool")
        or not isinstance(value, _TYPES[base])
        or (rule and not rule[0](value))
    ):
        _fail(where, key, value, allowed(f))


def _typed(f, v: Any) -> Any:
    """A checked params.yaml value as its field holds it: tuples, floats (auto stays auto)."""
    base = f.type.removesuffix(_OR_AUTO)
    if v == AUTO and f.type.endswith(_OR_AUTO):
        return v
    if base == "tuple[float, ...]":
        return tuple(float(x) for x in v)
    return tuple(v) if base.startswith("tuple") else float(v) if base == "float" else v


def parse(raw: Any, where: str = "params.yaml") -> Params:
    """A params.yaml mapping -> Params. Raises ParamError naming the key, the value and what is
    allowed."""
    if not isinstance(raw, dict):
        raise ParamError(f"{where}: expected a mapping of parameter groups")
    flat, known = _flatten(raw), schema()
    for key in flat:
        if key not in known:
            raise ParamError(f"{where}: unknown key {key!r}; known keys: {', '.join(known)}")
    values: dict[str, dict] = {g: {} for g in GROUPS}
    for key, (group, name, f) in known.items():
        if key not in flat:
            raise ParamError(f"{where}: missing key {key!r} ({f.metadata['meaning']})")
        _check(where, key, f, flat[key])
        values[group][name] = _typed(f, flat[key])
    photo = values["train"]["degradation"] != "bicubic"  # what auto means: the photo model's
    for group, name, f in known.values():
        if f.metadata.get("auto") and values[group][name] == AUTO:
            values[group][name] = f.metadata["auto"][photo]
    p = Params(**{g: cls(**values[g]) for g, cls in GROUPS.items()})
    try:
        _check_together(p, where)
    except ParamError as e:  # a resolved auto: say where the value came from
        autos = [k for k, (g, n, f) in known.items() if f.metadata.get("auto") and flat[k] == AUTO]
        said = next((k for k in autos if str(e).startswith(f"{where}: {k} = ")), None)
        if said is None:
            raise
        why = f" ({said} is auto: its value with train.degradation {p.train.degradation})"
        raise ParamError(str(e) + why) from None
    return p


def _check_together(p: Params, where: str) -> None:
    """Rules that involve two keys."""
    if p.diffusion.eta_T <= p.diffusion.eta_1:
        _fail(
            where,
            "diffusion.eta_T",
            p.diffusion.eta_T,
            f"above diffusion.eta_1 = {p.diffusion.eta_1}",
        )
    if p.evaluate.steps > p.diffusion.steps:
        _fail(
            where,
            "evaluate.steps",
            p.evaluate.steps,
            f"at most diffusion.steps = {p.diffusion.steps}",
        )
    if p.train.eval_sample_steps > p.diffusion.steps:
        _fail(
            where,
            "train.eval_sample_steps",
            p.train.eval_sample_steps,
            f"at most diffusion.steps = {p.diffusion.steps}",
        )
    if p.train.batch_size % p.train.nproc:
        _fail(
            where,
            "train.batch_size",
            p.train.batch_size,
            f"a multiple of train.nproc = {p.train.nproc}",
        )
    m = p.model.size_multiple
    if p.prepare.patch % m:
        _fail(
            where,
            "prepare.patch",
            p.prepare.patch,
            f"a multiple of {m} (the model's stem, depth, DWT and DCT block)",
        )
    _check_scales(p, where)
    if p.model.cleanup and p.train.degradation == "bicubic":
        _fail(where, "model.cleanup", True, "auto or false when train.degradation is bicubic")
    if not tile_fits(p.evaluate.tile, p.evaluate.overlap, m):
        _fail(where, "evaluate.tile", p.evaluate.tile, tile_rule(m) + " (evaluate.overlap)")
    if p.data.source == "folder" and not (p.data.train_dir and p.data.valid_dir):
        _fail(
            where,
            "data.train_dir",
            p.data.train_dir,
            "set, with data.valid_dir, when data.source is folder",
        )


def _check_scales(p: Params, where: str) -> None:
    """prepare.scale inside model.scales; every evaluate.scales one the model takes."""
    own, lo_hi = p.prepare.scale, p.model.scales
    if lo_hi and not lo_hi[0] <= own <= lo_hi[1]:
        _fail(where, "model.scales", list(lo_hi), f"[] or a range holding prepare.scale = {own}")
    for s in p.evaluate.scales:
        if not p.model.takes(s, own):
            _fail(where, "evaluate.scales", list(p.evaluate.scales), p.model.scales_words(own))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ParamError(f"{path}: cannot read parameters ({e})") from e


def load_params(path: str | os.PathLike = "params.yaml") -> Params:
    return parse(_read_yaml(Path(path)), str(path))


def load_real_group(path: str | os.PathLike) -> RealConfig:
    """The `real` group of a YAML file (a params.yaml, or a file with that group alone), keys
    left out at their defaults, checked as params.yaml is."""
    raw = _read_yaml(Path(path))
    if not isinstance(raw, dict) or not isinstance(raw.get("real"), dict):
        raise ParamError(f"{path}: expected a mapping with a `real` group of parameters")
    full = yaml.safe_load(default_params_yaml())
    full["real"].update(raw["real"])
    return parse(full, str(path)).real


def default_params_yaml() -> str:
    """The defaults as a commented params.yaml, grouped by the stage that reads them."""
    head = [
        "# Every hyperparameter of the pipeline, grouped by the stage that reads it. Generated",
        "# from srcore/config/schema.py (`python -m srcore.config.params > params.yaml`), where",
        "# each key's type, default, rule and meaning are defined. The defaults run the embedded",
        "# sample on a CPU in minutes; docs/experiments.md gives the notebook's DIV2K settings.",
        "",
    ]
    top, groups = [], []
    for g, cls in GROUPS.items():
        lines = []
        for f in fields(cls):
            v = list(f.default) if isinstance(f.default, tuple) else f.default
            text = yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()
            comment = f.metadata["meaning"] + (
                f" [{allowed(f)}]" if f.metadata["rule"] or f.type != "str" else ""
            )
            if f.metadata["key"]:
                top.append(f"{f.metadata['key'] + ': ' + text:<26}  # {comment}")
            else:
                lines.append(f"{'  ' + f.name + ': ' + text:<26}  # {comment}")
        groups += [f"{g}:", *lines, ""]
    return "\n".join(head + top + [""] + groups).rstrip() + "\n"


if __name__ == "__main__":
    print(default_params_yaml(), end="")
