"""Synthesis settings: the shipped ``default.yaml`` overridden by a user's YAML file.

Every key a user writes must exist in the default file and keep its kind (a number, a
``[low, high]`` range, a list of names, a section); anything else is a
:class:`~crnn.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..config import read_yaml_mapping
from ..errors import ConfigError

__all__ = ["Effect", "SynthConfig", "load_synth_config"]


@dataclass(frozen=True)
class Effect:
    """An optional effect: applied with probability ``p``, strength drawn from lo..hi."""

    p: float
    lo: float
    hi: float


@dataclass(frozen=True, eq=False)
class SynthConfig:
    """Validated settings (nested dicts of plain values) and where they came from."""

    data: dict[str, Any] = field(repr=False)
    source: str = "default"
    _effects: dict[str, Effect] = field(default_factory=dict, repr=False, compare=False)

    def get(self, *keys: str) -> Any:
        node: Any = self.data
        for k in keys:
            node = node[k]
        return node

    def range(self, *keys: str) -> tuple[float, float]:
        lo, hi = self.get(*keys)
        return float(lo), float(hi)

    def effect(self, name: str) -> Effect:
        """``degrade.<name>`` or ``fonts.<name>`` as an :class:`Effect` (memoised: it is
        asked for ten times per rendered line)."""
        cached = self._effects.get(name)
        if cached is not None:
            return cached
        section = self.data["degrade"] if name in self.data["degrade"] else self.data["fonts"]
        entry = section[name]
        lo, hi = next(v for k, v in entry.items() if k != "p")
        eff = self._effects[name] = Effect(float(entry["p"]), float(lo), float(hi))
        return eff

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


def _default_data() -> dict[str, Any]:
    text = resources.files("crnn.synth").joinpath("default.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def load_synth_config(path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> SynthConfig:
    """The default settings, overridden by the YAML file at ``path`` and then ``overrides``
    (a nested dict, as from Python code)."""
    data = _default_data()
    source = "default"
    if path is not None:
        p = Path(path)
        user = read_yaml_mapping(p, "synth config")
        _merge(data, user, str(p), "")
        source = str(p)
    if overrides:
        _merge(data, overrides, "overrides", "")
    _check(data, source)
    return SynthConfig(data, source)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _merge(base: dict[str, Any], user: Any, where: str, prefix: str) -> None:
    if not isinstance(user, dict):
        raise ConfigError(f"{where}: {prefix or 'the file'} must be a mapping of keys, "
                          f"not {type(user).__name__}")
    for key, value in user.items():
        name = f"{prefix}{key}"
        if key not in base:
            known = ", ".join(str(k) for k in base)
            raise ConfigError(f"{where}: unknown key {name!r}; known keys here: {known} "
                              "(see crnn/synth/default.yaml)")
        ref = base[key]
        if isinstance(ref, dict):
            _merge(ref, value, where, name + ".")
            continue
        if isinstance(ref, list) and ref and all(_is_number(x) for x in ref):
            ok = (isinstance(value, list) and len(value) == 2
                  and all(_is_number(x) for x in value) and value[0] <= value[1])
            if not ok:
                raise ConfigError(f"{where}: {name} must be a range [low, high] with "
                                  f"low <= high, not {value!r}")
        elif isinstance(ref, list):
            if not (isinstance(value, list) and all(isinstance(x, str) for x in value)):
                raise ConfigError(f"{where}: {name} must be a list of strings, not {value!r}")
        elif _is_number(ref):
            if not _is_number(value):
                raise ConfigError(f"{where}: {name} must be a number, not {value!r}")
        elif isinstance(ref, str) and not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be a string, not {value!r}")
        base[key] = value


def _check(d: dict[str, Any], where: str) -> None:
    """Value checks beyond the kinds: probabilities, positive sizes, known names."""

    def fail(msg: str) -> None:
        raise ConfigError(f"synth config {where}: {msg}")

    for section in ("degrade",):
        for name, entry in d[section].items():
            if not 0.0 <= entry["p"] <= 1.0:
                fail(f"{section}.{name}.p = {entry['p']} is not a probability in [0, 1]")
    if not 0.25 <= d["degrade"]["stretch"]["scale"][0] <= d["degrade"]["stretch"]["scale"][1] \
            <= 4.0:
        fail("degrade.stretch.scale must lie within [0.25, 4] (1 = unchanged)")
    for name in ("fake_bold", "spacing", "kerning", "word_spacing", "underline"):
        if not 0.0 <= d["fonts"][name]["p"] <= 1.0:
            fail(f"fonts.{name}.p is not a probability in [0, 1]")
    if not 0.0 <= d["fonts"]["ligatures"] <= 1.0:
        fail("fonts.ligatures is not a probability in [0, 1]")
    weights = d["text"]["sources"]
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        fail("text.sources weights must be >= 0 and not all 0")
    if not 0.0 <= d["text"]["file_fraction"] <= 1.0:
        fail("text.file_fraction must lie in [0, 1]")
    if not 0.0 <= d["text"]["informal_marks"] <= 1.0:
        fail("text.informal_marks is not a probability in [0, 1]")
    if d["text"]["length"][0] <= 0:
        fail("text.length must be positive")
    cov = d["text"]["coverage"]
    if min(cov["min_count"], cov["max_per_line"], cov["focus_min_count"]) < 0:
        fail("text.coverage counts must be >= 0")
    if cov["focus_min_count"] and not cov["focus"]:
        fail("text.coverage.focus_min_count needs text.coverage.focus (a file of characters)")
    if not 0.25 <= d["fonts"]["scale"][0] <= d["fonts"]["scale"][1] <= 4.0:
        fail("fonts.scale must lie within [0.25, 4] (multiples of the output height)")
    step = d["fonts"]["size_step"]
    if not (isinstance(step, int) and 1 <= step <= 16):
        fail("fonts.size_step must be a whole number in 1..16")
    bg = d["background"]
    if min(bg["flat"], bg["gradient"], bg["paper"]) < 0 or bg["flat"] + bg["gradient"] \
            + bg["paper"] <= 0:
        fail("background weights flat/gradient/paper must be >= 0 and not all 0")
    out = d["output"]
    if out["height"] < 8:
        fail(f"output.height {out['height']} is too small (at least 8)")
    if out["encoding"] not in ("png", "jpg"):
        fail(f"output.encoding {out['encoding']!r}: use png or jpg")
    if not 0 <= out["png_level"] <= 9:
        fail("output.png_level must be 0..9")
    if not 1 <= out["jpeg_quality"] <= 100 or not 1 <= d["degrade"]["jpeg"]["quality"][0]:
        fail("JPEG qualities must lie in 1..100")
    c = d["colors"]
    if not (0 <= c["ink"][0] and c["paper"][1] <= 255):
        fail("colors must lie in 0..255")
    if c["paper"][1] - c["ink"][0] < c["min_contrast"]:
        fail("colors.paper and colors.ink cannot reach colors.min_contrast")
