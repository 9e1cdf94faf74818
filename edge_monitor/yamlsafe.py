"""Bounded reading and parsing of YAML config files (hostile input must not hang or exhaust the Pi).

A config is a few kB of two-level mappings. Anything far outside that is refused before it costs
time or memory:

* only a regular file is read (a FIFO, ``/dev/zero`` or a directory is refused without blocking),
  and at most :data:`MAX_BYTES` of it;
* nesting deeper than :data:`MAX_DEPTH` is refused while composing (PyYAML's composer recurses, so
  500 levels would otherwise end in a RecursionError);
* the document with every alias expanded may hold at most :data:`MAX_NODES` nodes (a 400-byte
  "billion laughs" alias bomb otherwise takes minutes and gigabytes once anything walks it);
* a key given twice in one mapping is an error naming both lines (YAML would keep the last one
  silently, so a second ``emotion:`` section would reset the first one's keys).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from edge_monitor.errors import ConfigError, ConfigKeyError, ConfigLimitError, ConfigSyntaxError

MAX_BYTES = 1_000_000  # the packaged default.yaml is about 6 kB
MAX_DEPTH = 32  # the config has two levels
MAX_NODES = 100_000  # nodes of the document with every alias expanded


def read_config_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of a config file, refusing special files and files over ``max_bytes``.

    Raises:
        ConfigError: Missing, not a regular file, unreadable or not UTF-8.
        ConfigLimitError: Larger than ``max_bytes``.
    """
    try:
        # O_NONBLOCK: a FIFO swapped in after a check must not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ConfigError(f"config file {path} is {_kind(mode)}, not a regular file; give a YAML file")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ConfigLimitError(f"config file {path} is larger than {max_bytes:,} bytes; a config is a few kB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read config file {path}: not UTF-8 text ({exc.reason})") from None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses deep nesting while composing the node graph."""

    max_depth = MAX_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise ConfigLimitError(
                    f"nested more than {self.max_depth} levels deep (line {mark.line + 1}); a config has two"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def check_tree(root: yaml.Node, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Refuse duplicate keys and an alias expansion beyond ``max_nodes`` nodes or ``max_depth`` levels.

    Walks the tree as a consumer would see it (aliases expanded), stopping at the first limit, so
    the walk itself is bounded by ``max_nodes`` steps.
    """
    count = 0
    stack: list[tuple[yaml.Node, int, str]] = [(root, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        count += 1
        if count > max_nodes:
            raise ConfigLimitError(
                f"expands to more than {max_nodes:,} values through aliases (line {_line(node)});"
                " remove the anchors (&) and aliases (*)"
            )
        if depth > max_depth:
            raise ConfigLimitError(
                f"nested more than {max_depth} levels deep through aliases (line {_line(node)})"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    name = f"{path}.{key.value}" if path else key.value
                    if key.value in seen:
                        raise ConfigKeyError(
                            f"{name}: duplicate key (lines {seen[key.value]} and {_line(key)}); keep one"
                        )
                    seen[key.value] = _line(key)
                else:
                    name = path
                stack.append((key, depth + 1, path))
                stack.append((value, depth + 1, name))


def load_yaml(text: str) -> tuple[object, yaml.Node | None]:
    """Parse one YAML document within the limits; returns (data, root node).

    Raises:
        ConfigSyntaxError: Not YAML (with line and column).
        ConfigLimitError: Too deep, or an alias expansion too large.
        ConfigKeyError: A key is given twice in one mapping.
    """
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_tree(node)
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigSyntaxError(f"YAML syntax error{where}: {problem}") from None
    except RecursionError:  # belt and braces: the depth limit should stop it first
        raise ConfigLimitError("nested too deeply; a config has two levels") from None
    finally:
        loader.dispose()
