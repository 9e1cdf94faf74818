"""The whole configuration, one section per concern (the sections are importable from here too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge_monitor.config.driver import AttentionConfig, CalibrationConfig, FatigueConfig, PolicyConfig
from edge_monitor.config.outputs import EventsConfig, FleetConfig, GpioConfig, SnapshotsConfig
from edge_monitor.config.perception import (
    DetectorConfig,
    EmotionConfig,
    EyesConfig,
    FaceConfig,
    LandmarksConfig,
    ModelsConfig,
    SourceConfig,
)


@dataclass(frozen=True)
class Config:
    """The whole configuration."""

    source: SourceConfig = field(default_factory=SourceConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    landmarks: LandmarksConfig = field(default_factory=LandmarksConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    emotion: EmotionConfig = field(default_factory=EmotionConfig)
    eyes: EyesConfig = field(default_factory=EyesConfig)
    fatigue: FatigueConfig = field(default_factory=FatigueConfig)
    attention: AttentionConfig = field(default_factory=AttentionConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    snapshots: SnapshotsConfig = field(default_factory=SnapshotsConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
