"""How a config setting is declared: one :func:`spec` per key, one :func:`section` per group of keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def spec(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None, choices=None) -> Any:
    """A config key: its default, one-line description and allowed range or choices.

    The loader (:mod:`edge_monitor.config.loading`) checks every value, the defaults included,
    against ``lo``/``hi`` or ``choices``; ``--print-config`` prints ``doc`` beside each key.
    """
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi, "choices": choices})


def section(cls: type[T]) -> type[T]:
    """A config section: a frozen dataclass of :func:`spec` keys, its docstring's first line its description."""
    return dataclass(frozen=True)(cls)
