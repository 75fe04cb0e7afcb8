"""Registries of pluggable components: generation backends, scorers and assessors, found by name.

Each registry holds ``name -> factory``. The built-in components register themselves where they
are defined (the factory imports heavy libraries only when called); another package adds its own
through an entry point in its ``pyproject.toml``::

    [project.entry-points."assess.backends"]
    my-server = "my_package.backend:make"       # make(config: BackendConfig) -> Backend

    [project.entry-points."assess.scorers"]
    rubric = "my_package.scoring:make"          # make(config: RunConfig, cache: RunCache) -> Scorer

    [project.entry-points."assess.assessors"]
    my-assessor = "my_package.assessor:make"    # make(options: AssessorOptions) -> scikit-learn estimator

Entry points are loaded the first time a registry is asked for a name it does not hold, or for
its names. A name registered twice is an error, never a silent override.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .errors import AssessError, InputError


class Registry:
    """Named factories of one kind of component, extended through the entry-point ``group``."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._factories: dict[str, Callable[..., Any]] = {}
        self._plugins_loaded = False

    def register(self, name: str, factory: Callable[..., Any] | None = None):
        """Add ``factory`` under ``name`` and return it (as a decorator: ``@registry.register("name")``)."""
        def add(function: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._factories:
                raise AssessError(f"{self.kind} {name!r} is registered twice ({self._factories[name]!r}, {function!r})")
            self._factories[name] = function
            return function

        return add(factory) if factory is not None else add

    def get(self, name: str, *, key: str | None = None) -> Callable[..., Any]:
        """The factory registered as ``name``; an InputError at ``key`` lists the known names otherwise."""
        if name not in self._factories:
            self._load_plugins()
        if name not in self._factories:
            raise InputError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}", column=key)
        return self._factories[name]

    def names(self) -> tuple[str, ...]:
        """Every registered name, built-in first, then those of installed plugins."""
        self._load_plugins()
        return tuple(self._factories)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for point in entry_points(group=self.group):
            try:
                factory = point.load()
            except Exception as err:  # a broken plugin is named, whatever it raised
                raise AssessError(f"cannot load {self.kind} {point.name!r} from entry point {point.value!r} "
                                  f"({type(err).__name__}: {err})") from err
            self.register(point.name, factory)


BACKENDS = Registry("backend", "assess.backends")
SCORERS = Registry("scorer", "assess.scorers")
ASSESSORS = Registry("assessor", "assess.assessors")
