"""Loading and checking the config: YAML over the packaged defaults, every value against its spec.

Unknown keys, wrong types and out-of-range values are :class:`ConfigError` naming the dotted key
path, the value, the reason and the YAML line.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from edge_monitor.config.outputs import FleetConfig
from edge_monitor.config.schema import Config
from edge_monitor.errors import (
    ConfigError,
    ConfigKeyError,
    ConfigRangeError,
    ConfigTypeError,
    show_value,
)
from edge_monitor.yamlsafe import load_yaml, read_config_text


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _line(node: yaml.Node | None) -> str:
    return f" (line {node.start_mark.line + 1})" if node is not None else ""


def _coerce(value: Any, tp: Any, path: str, node: yaml.Node | None, meta: dict) -> Any:
    where = _line(node)
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigRangeError(f"{path}: {show_value(value)} is not a finite number{where}")
    elif tp is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - only the types above are used
        raise TypeError(tp)
    if not ok:
        raise ConfigTypeError(
            f"{path}: {show_value(value)} is {type(value).__name__}, expected {_type_name(tp)}{where}"
        )
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigRangeError(
            f"{path}: {show_value(value)} is out of range, must be between {lo} and {hi}{where}"
        )
    if choices is not None and value not in choices:
        raise ConfigRangeError(
            f"{path}: {show_value(value)} is not one of {', '.join(map(str, choices))}{where}"
        )
    return value


def _build(cls: type, data: Any, node: yaml.Node | None, prefix: str, base: Any) -> Any:
    if data is None:
        return base
    if not isinstance(data, dict):
        what = prefix or "the config file"
        raise ConfigTypeError(f"{what}: expected a mapping of keys, got {type(data).__name__}{_line(node)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    key_nodes = {}
    if isinstance(node, yaml.MappingNode):
        key_nodes = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    changes = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        knode, vnode = key_nodes.get(key, (node, None))
        if key not in fields:
            known = ", ".join(fields)
            raise ConfigKeyError(f"{path}: unknown key{_line(knode)}; known keys here: {known}")
        tp = hints[key]
        if _is_section(tp):
            changes[key] = _build(tp, value, vnode, path, getattr(base, key))
        else:
            changes[key] = _coerce(value, tp, path, vnode or knode, dict(fields[key].metadata))
    return dataclasses.replace(base, **changes)


def _validate_defaults(obj: Any, prefix: str = "") -> None:
    # The packaged defaults go through the same checks as a user's file.
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value):
            _validate_defaults(value, path)
        else:
            _coerce(value, typing.get_type_hints(type(obj))[f.name], path, None, dict(f.metadata))


def _require(ok: bool, where: str, relation: str, *values: float) -> None:
    if not ok:
        raise ConfigRangeError(f"{where}: {relation} is required, got {', '.join(map(str, values))}")


def _check_relations(cfg: Config) -> None:
    # Settings that are only meaningful relative to each other.
    if cfg.gpio.buzzer_pin == cfg.gpio.led_pin:
        raise ConfigRangeError(
            f"gpio.led_pin: {cfg.gpio.led_pin} is also gpio.buzzer_pin; use two different pins"
        )
    a, e, f = cfg.attention, cfg.eyes, cfg.fatigue
    _require(
        a.notice_s < a.warning_s < a.alarm_s,
        "attention",
        "notice_s < warning_s < alarm_s",
        a.notice_s,
        a.warning_s,
        a.alarm_s,
    )
    _require(
        a.sleep_s < a.unresponsive_closed_s,
        "attention",
        "sleep_s < unresponsive_closed_s",
        a.sleep_s,
        a.unresponsive_closed_s,
    )
    _require(a.vats_s <= a.vats_window_s, "attention", "vats_s <= vats_window_s", a.vats_s, a.vats_window_s)
    check_fleet(cfg.fleet)
    _require(
        f.blink_max_s < f.microsleep_s <= f.long_closure_s,
        "fatigue",
        "blink_max_s < microsleep_s <= long_closure_s",
        f.blink_max_s,
        f.microsleep_s,
        f.long_closure_s,
    )
    _require(
        e.haar_min_eye_frac < e.haar_max_eye_frac,
        "eyes",
        "haar_min_eye_frac < haar_max_eye_frac",
        e.haar_min_eye_frac,
        e.haar_max_eye_frac,
    )


def check_fleet(fleet: FleetConfig) -> None:
    """The fleet settings that depend on each other: URL syntax, topic names, certificate pairs."""
    from edge_monitor.fleet.url import check_topic_part, parse_broker_url

    if fleet.url:
        parse_broker_url(fleet.url, "fleet.url")
    check_topic_part(fleet.topic_prefix, "fleet.topic_prefix", allow_slash=True)
    if fleet.vehicle_id:
        check_topic_part(fleet.vehicle_id, "fleet.vehicle_id", allow_slash=False)
    if bool(fleet.client_cert) != bool(fleet.client_key):
        raise ConfigRangeError("fleet: client_cert and client_key go together; set both or neither")


def parse_config(text: str, source: str = "<config>", base: Config | None = None) -> Config:
    """Parse YAML text over ``base`` (default: the built-in defaults), within the limits of ``yamlsafe``."""
    try:
        data, node = load_yaml(text)
        cfg = _build(Config, data, node, "", base or Config())
        _check_relations(cfg)
        return cfg
    except ConfigError as exc:
        raise type(exc)(f"{source}: {exc}") from None


def default_config_text() -> str:
    """The packaged ``default.yaml``."""
    return resources.files("edge_monitor").joinpath("default.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None = None) -> Config:
    """The packaged defaults, overridden by the YAML file at ``path`` if given.

    Raises:
        ConfigError: The file is missing or unreadable, or holds an invalid setting.
    """
    base = Config()
    _validate_defaults(base)
    base = parse_config(default_config_text(), "default.yaml", base)
    if path is None:
        return base
    p = Path(path)
    return parse_config(read_config_text(p), str(p), base)


def dump_yaml(cfg: Config) -> str:
    """The effective config as YAML, each key with its description as a comment."""
    lines: list[str] = []

    def walk(obj: Any, indent: int) -> None:
        pad = "  " * indent
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                doc = (type(value).__doc__ or "").strip().splitlines()[0]
                lines.append(f"{pad}{f.name}:  # {doc}")
                walk(value, indent + 1)
            else:
                scalar = yaml.safe_dump(value, default_flow_style=True).strip()
                scalar = scalar.removesuffix("\n...").removesuffix("...").strip()
                lines.append(f"{pad}{f.name}: {scalar}  # {f.metadata['doc']}")

    walk(cfg, 0)
    return "\n".join(lines) + "\n"
