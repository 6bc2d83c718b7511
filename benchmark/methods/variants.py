"""Named variants of the reference baselines (``baselines/variants.yaml``): a baseline with
other options, registered under a name of its own (a subclass whose defaults are the
variant's), so its records say which variant ran. A variant's runs build the baseline's own
class with the variant's options in the sandbox; its version is the baseline's. Only a
baseline may be a variant's base: its options are data, never code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from benchmark.api.method import Method
from benchmark.core.errors import SpecError
from benchmark.core.paths import baselines_dir
from benchmark.core.registry import Registry
from benchmark.core.schema import read_yaml, validate

VARIANTS_FILE = "variants.yaml"


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base: str
    options: dict[str, Any] = Field(min_length=1)
    summary: str = Field(min_length=10, max_length=500)


def read_variants() -> dict[str, Variant]:
    path = baselines_dir() / VARIANTS_FILE
    if not path.is_file():
        return {}
    raw = read_yaml(path) or {}
    return {name: validate(Variant, body, f"{path} (variant {name!r})")
            for name, body in raw.items()}


def add_variants(registry: Registry[type[Method]]) -> None:
    """Register every variant as a subclass of its base (origin: the base's file), once the
    baselines are imported and before any submission is examined (so a submission that
    takes a variant's name is refused as any name clash is), refusing a base that is not a
    baseline (or is itself a variant) and options the base does not have."""
    path = baselines_dir() / VARIANTS_FILE
    for name, variant in read_variants().items():
        if name in registry.names():
            raise SpecError(f"{path}: variant {name!r} takes the name of a baseline")
        base_is_baseline = variant.base in registry.names() and registry.origin(
            variant.base).startswith(str(baselines_dir()))
        if not base_is_baseline or getattr(registry.get(variant.base), "variant_of", None):
            raise SpecError(f"{path}: variant {name!r}: its base {variant.base!r} is not a "
                            "reference baseline (a variant's base is never a variant)")
        base = registry.get(variant.base)
        unknown = sorted(set(variant.options) - set(base.defaults))
        if unknown:
            raise SpecError(f"{path}: variant {name!r}: {variant.base} has no option "
                            f"{unknown[0]!r}; its options: {', '.join(sorted(base.defaults))}")
        cls = type(f"{base.__name__}Variant", (base,), {
            "name": name, "__module__": base.__module__,
            "__doc__": variant.summary + "\n\n" + (base.__doc__ or ""),
            "defaults": {**base.defaults, **variant.options},
            "variant_of": variant.base, "variant_options": dict(variant.options)})
        registry.add(name, cls, origin=registry.origin(variant.base))
