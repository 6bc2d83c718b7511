"""One generic registry for tasks, models, datasets and methods.

Modelled on lm-evaluation-harness's ``api/registry.py``: one mechanism, duplicates refused,
unknown names answered with near-miss suggestions and the full list, and lazy population
(a loader runs on first lookup, e.g. reading ``tasks/*.yaml`` or importing plugins).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from benchmark.core.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → object map for one kind of thing (``kind`` is used in messages)."""

    def __init__(self, kind: str, loader: Callable[[Registry[T]], None] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._loader = loader
        self._loaded = loader is None
        self._loading = False
        self._lock = threading.RLock()  # one loader run, even when threads look up at once

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:  # _loading: a lookup from inside the loader
                return
            self._loading = True
            try:
                assert self._loader is not None
                self._loader(self)
                self._loaded = True
            finally:
                self._loading = False

    def attach_loader(self, loader: Callable[[Registry[T]], None]) -> None:
        """Give a registry created without one its loader (the stage that discovers entries
        sits above the one that defines the registry, e.g. method discovery above the API)."""
        if self._loader is not None and self._loader is not loader:
            raise TypeError(f"the {self.kind} registry already has a loader")
        self._loader = loader
        self._loaded = False

    def mark_loaded(self) -> None:
        """Take the registry as it is, without running its loader: a process that runs one
        plugin imports that plugin alone, never every plugin the loader would import."""
        self._loaded = True

    def reset(self) -> None:
        """Forget loaded entries so the loader runs again (e.g. after the repo root changed)."""
        if self._loader is None:
            raise TypeError(f"the {self.kind} registry has no loader to run again")
        self._items.clear()
        self._origins.clear()
        self._loaded = False

    def remove(self, name: str) -> None:
        """Unregister ``name`` (for tests and plugin reloading)."""
        self._items.pop(name, None)
        self._origins.pop(name, None)

    def add(self, name: str, obj: T, origin: str = "") -> T:
        """Register ``obj`` as ``name``; a second registration of the same name is an error."""
        if not name or name != name.strip():
            raise ValueError(f"invalid {self.kind} name {name!r}")
        if name in self._items:
            where = f" (first registered from {self._origins[name]})" if self._origins[name] else ""
            raise DuplicateNameError(
                f"{self.kind} {name!r} is registered twice{where}"
                + (f" and again from {origin}" if origin else "")
                + "; rename one of them."
            )
        self._items[name] = obj
        self._origins[name] = origin
        return obj

    def register(self, name: str, origin: str = "") -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorate(obj: T) -> T:
            return self.add(name, obj, origin or getattr(obj, "__module__", ""))

        return decorate

    def get(self, name: str) -> T:
        self._ensure_loaded()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        names = sorted(self._items)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(names) if names else "(none registered)"
        return f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {listing}."

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        self._ensure_loaded()
        return sorted(self._items.items())

    def origin(self, name: str) -> str:
        self.get(name)
        return self._origins[name]

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._items)
