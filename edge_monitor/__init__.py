"""edge-monitor: driver drowsiness and emotion monitor for the Raspberry Pi."""

__version__ = "0.1.0"
