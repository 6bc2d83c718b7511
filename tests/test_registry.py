from __future__ import annotations

import pytest

from benchmark.core.errors import DuplicateNameError, UnknownNameError
from benchmark.core.registry import Registry


def test_duplicate_names_are_refused_and_name_both_origins() -> None:
    registry: Registry[int] = Registry("widget")
    registry.add("alpha", 1, origin="a.py")
    with pytest.raises(DuplicateNameError, match=r"'alpha'.*a\.py.*b\.py"):
        registry.add("alpha", 2, origin="b.py")
    assert registry.get("alpha") == 1


def test_unknown_name_suggests_near_misses_and_lists_all() -> None:
    registry: Registry[int] = Registry("method")
    for name in ("naive", "logconf", "product"):
        registry.add(name, 0)
    with pytest.raises(UnknownNameError) as info:
        registry.get("logcnf")
    message = str(info.value)
    assert "Did you mean 'logconf'?" in message
    assert "Known methods: logconf, naive, product." in message


def test_loader_runs_once_lazily_and_again_after_reset() -> None:
    calls = []

    def loader(reg: Registry[str]) -> None:
        calls.append(1)
        reg.add("x", "loaded")

    registry: Registry[str] = Registry("thing", loader=loader)
    assert calls == []
    assert registry.get("x") == "loaded" and registry.names() == ["x"]
    assert calls == [1]
    registry.reset()
    assert "x" in registry and calls == [1, 1]


def test_builtin_registries_answer_with_suggestions() -> None:
    from benchmark.models import MODELS

    with pytest.raises(UnknownNameError, match="Did you mean 'minilm-l6'"):
        MODELS.get("minilm-l7")
