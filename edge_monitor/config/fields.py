"""How a config setting is declared: one :func:`spec` per key, one :func:`section` per group of keys.

A section is a class whose Google-style docstring describes it (first line) and each key
(``Attributes:``); its keys are :func:`spec` fields giving the default and the allowed range or
choices. :func:`section` makes it a frozen dataclass and attaches each key's description, which
``--print-config`` prints beside the key, so the docstring is the one place a key is described.
"""

from __future__ import annotations

import dataclasses
import inspect
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")


def spec(default: Any, *, lo: float | None = None, hi: float | None = None, choices=None) -> Any:
    """A config key: its default and allowed range or choices (checked by the loader, defaults too)."""
    return dataclasses.field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices})


def attribute_docs(doc: str | None) -> dict[str, str]:
    """The ``Attributes:`` entries of a Google-style docstring, each joined into one line."""
    lines = inspect.cleandoc(doc or "").splitlines()
    if "Attributes:" not in lines:
        return {}
    docs: dict[str, str] = {}
    name = ""
    for line in lines[lines.index("Attributes:") + 1 :]:
        if not line.startswith("    "):
            break  # the end of the section
        if line.startswith("        "):
            docs[name] += " " + line.strip()  # a continuation line
        else:
            name, _, text = line.strip().partition(": ")
            docs[name] = text
    return docs


def section(cls: type[T]) -> type[T]:
    """A config section: ``cls`` as a frozen dataclass, each key described by its docstring.

    Raises:
        TypeError: A key has no description, or a description names no key.
    """
    cls = dataclasses.dataclass(frozen=True)(cls)
    docs = attribute_docs(cls.__doc__)
    names = [f.name for f in dataclasses.fields(cls)]
    if sorted(docs) != sorted(names):
        raise TypeError(
            f"{cls.__name__}: the docstring's Attributes must describe exactly its keys;"
            f" undescribed: {sorted(set(names) - set(docs))}, unknown: {sorted(set(docs) - set(names))}"
        )
    for f in dataclasses.fields(cls):
        f.metadata = MappingProxyType({**f.metadata, "doc": docs[f.name]})
    return cls
