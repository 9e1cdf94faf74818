"""Typed, frozen, strict configuration loaded from YAML.

Every key has a default, bounds and a one-line description (:func:`~edge_monitor.config.fields.spec`),
grouped in sections: :mod:`~edge_monitor.config.perception`, :mod:`~edge_monitor.config.driver` and
:mod:`~edge_monitor.config.outputs`, assembled in :class:`Config`. :func:`load_config`
(:mod:`~edge_monitor.config.loading`) merges a user file over the packaged defaults; unknown keys,
wrong types and out-of-range values are :class:`~edge_monitor.errors.ConfigError` naming the dotted
key path, the value, the reason and the YAML line.
"""

from edge_monitor.config.loading import check_fleet, default_config_text, dump_yaml, load_config, parse_config
from edge_monitor.config.schema import (
    AttentionConfig,
    CalibrationConfig,
    Config,
    DetectorConfig,
    EmotionConfig,
    EventsConfig,
    EyesConfig,
    FaceConfig,
    FatigueConfig,
    FleetConfig,
    GpioConfig,
    LandmarksConfig,
    ModelsConfig,
    PolicyConfig,
    SnapshotsConfig,
    SourceConfig,
)

__all__ = [
    "AttentionConfig",
    "CalibrationConfig",
    "Config",
    "DetectorConfig",
    "EmotionConfig",
    "EventsConfig",
    "EyesConfig",
    "FaceConfig",
    "FatigueConfig",
    "FleetConfig",
    "GpioConfig",
    "LandmarksConfig",
    "ModelsConfig",
    "PolicyConfig",
    "SnapshotsConfig",
    "SourceConfig",
    "check_fleet",
    "default_config_text",
    "dump_yaml",
    "load_config",
    "parse_config",
]
