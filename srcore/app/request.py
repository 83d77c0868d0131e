"""What the page asks for when its button is pressed: one image, two sides, the sampling options,
checked before any work starts."""

from __future__ import annotations

from dataclasses import dataclass

from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec

BICUBIC, ORIGINAL = "bicubic", "original"  # the sides that are not models
MODES = ("upscale", "shrink")
SHRINK_DEGRADATIONS = ("bicubic", "real")


@dataclass(frozen=True)
class Request:
    """What the page asks for: one input, two sides, the sampling options."""

    source: str
    model: str  # model A, the right side
    compare: str = BICUBIC  # the left side: bicubic, original (shrink first) or model B
    mode: str = "upscale"  # or shrink: the input is an HR image, its LR is upscaled and scored
    degradation: str = "bicubic"  # how shrink makes the LR: bicubic or real
    scale: float | None = None  # None: model A's own
    cleanup: float | str | None = None  # for models with the knob; None: the default level
    steps: int | None = None
    ensemble: bool = False
    seed: int = 0
    tile: int = 1024

    @classmethod
    def parse(cls, fields: dict) -> Request:
        """A Request from the page's JSON; a UserError names a key that is wrong."""
        known = set(cls.__dataclass_fields__)
        if unknown := sorted(set(fields) - known):
            raise UserError(f"{unknown[0]}: not a setting (allowed: {', '.join(sorted(known))})")
        for key in ("source", "model"):
            if not isinstance(fields.get(key), str) or not fields[key]:
                raise UserError(f"{key} {fields.get(key)!r}: allowed a name (the page sends one)")
        request = cls(**{k: v for k, v in fields.items() if v is not None})
        if request.mode not in MODES:
            raise UserError(f"mode {request.mode!r}: allowed {', '.join(MODES)}")
        if request.degradation not in SHRINK_DEGRADATIONS:
            allowed = ", ".join(SHRINK_DEGRADATIONS)
            raise UserError(f"degradation {request.degradation!r}: allowed {allowed}")
        if request.compare == ORIGINAL and request.mode != "shrink":
            raise UserError("compare original: only in shrink-first mode (there is no original)")
        r = request
        SamplingSpec(r.steps, "ancestral", 1, r.ensemble, r.tile, 32, r.seed, r.scale, r.cleanup)
        return request

    def options(self, card: dict) -> dict:
        """The sampling options for a model of `card` (srcore.app.catalogue.model_card): the
        clean-up level only to a model with the knob, the seed not to a graph that fixes its own;
        steps and ensemble when set (a graph refuses them, in a message naming it)."""
        options = {"scale": self.scale, "tile": self.tile}
        if card["fixed_seed"] is None:
            options["seed"] = self.seed
        if card["cleanup"] and self.cleanup is not None:
            options["cleanup"] = self.cleanup
        if self.steps is not None:
            options["steps"] = self.steps
        if self.ensemble:
            options["ensemble"] = True
        return {k: v for k, v in options.items() if v is not None}
