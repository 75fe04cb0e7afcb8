"""Load a YAML mapping and validate it with a pydantic model, with errors that name file, line and key."""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_mapping(path: str | Path) -> dict:
    """Parse a YAML file that must hold a mapping; syntax errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputError(f"{where}malformed YAML ({getattr(err, 'problem', None) or err})", source=path) from err
    if not isinstance(data, dict):
        raise InputError("expected a YAML mapping of keys to values at the top level", source=path)
    return data


def validate_model(model: type[Model], data: dict, source: str | Path) -> Model:
    """Validate ``data`` against ``model``; the first problem becomes an InputError naming its key path."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "<top level>"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = f"unknown key (allowed: {', '.join(model.model_fields)})" if len(first["loc"]) == 1 else "unknown key"
        raise InputError(f"key {key!r}: {message}", source=source) from None


def load_config(model: type[Model], path: str | Path) -> Model:
    """Read a YAML config file into ``model``."""
    return validate_model(model, load_yaml_mapping(path), path)
