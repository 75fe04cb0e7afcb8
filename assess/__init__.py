"""assess: predictive AI evaluation on general scales.

The public entry points have the CLI's names and load lazily, so ``import assess`` stays light:

* ``assess.Battery.read(path, rubrics=[...])``: validated instances plus their scale set;
* ``assess.read_outcomes(path, battery=...)``: a validated (graded) outcome table;
* ``assess.profile("model.yaml")`` or ``assess.profile(subject=..., battery=..., ...)``: what ``assess profile`` does;
* ``assess.load_scale_set([...])``: the bundled rubrics plus user rubric folders.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> (module, attribute); ``profile`` is the callable module :mod:`assess.profile`.
_PUBLIC: dict[str, tuple[str, str | None]] = {
    "Battery": ("assess.battery", "Battery"),
    "read_outcomes": ("assess.sources", "read_outcomes"),
    "profile": ("assess.profile", None),
    "load_scale_set": ("assess.scaleset", "load_scale_set"),
    "ScaleSet": ("assess.scaleset", "ScaleSet"),
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'assess' has no attribute {name!r}")
    module_name, attribute = _PUBLIC[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)
