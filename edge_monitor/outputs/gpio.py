"""The buzzer and LED on the Pi's GPIO header, driven by gpiozero with an injected pin factory.

Each alert level (:data:`edge_monitor.levels.LEVELS`) shows one pattern (all in :data:`PATTERNS`,
the one place to change them)::

    level    LED                                         buzzer
    ok       off                                         off
    notice   steady on                                   off
    warning  blink 0.5 s on / 0.5 s off                  beep 0.15 s every 1 s
    alarm    fast blink 0.1 s on / 0.1 s off             continuous tone
    fault    slow pulse every 2 s: on a PWM pin fade     off (a camera fault, not the driver)
             in 0.2 s, hold 0.2 s, fade out 0.2 s, off
             1.4 s; on a plain pin blink 0.4 s / 1.6 s

gpiozero's own ``blink()`` background threads do the timing, so :meth:`AlertOutput.set_level`
returns at once and the caller's loop never sleeps for the pattern. The LED is a ``PWMLED`` when
the pin factory offers PWM (lgpio on a Pi, ``MockPWMPin`` in tests), else a plain ``LED``; the
buzzer is an active (on/off) ``Buzzer`` whose polarity follows ``gpio.buzzer_active_high``.

:func:`make_pin_factory` turns ``--gpio auto|on|off|mock`` into a pin factory (or None: use
:class:`NullOutput`); :func:`open_alert_output` does both steps. The global
``gpiozero.Device.pin_factory`` is never read or set.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Self

from gpiozero import LED, PWMLED, Buzzer
from gpiozero.exc import PinPWMUnsupported

from edge_monitor.config import GpioConfig
from edge_monitor.errors import OutputError
from edge_monitor.levels import LEVELS, rank

logger = logging.getLogger("edge_monitor.gpio")

#: Character devices of the kernel's GPIO interface; "auto" uses real pins only where one exists.
GPIOCHIP_GLOB = "/dev/gpiochip*"

#: gpiozero's real pin factories (its ``gpiozero_pin_factories`` entry points), preferred first: lgpio
#: has PWM and works on every Pi; native is the pure-Python last resort. gpiozero tries the same order.
REAL_FACTORIES = ("lgpio", "rpigpio", "pigpio", "native")


@dataclass(frozen=True)
class Blink:
    """A repeating on/off pattern, starting with ``on_s`` on.

    ``fade_s`` (LED only) fades in and out on a PWM pin, each taking ``fade_s``; on a plain pin
    each fade counts as lit for ``fade_s`` in total, so the period is the same on both kinds of pin.
    """

    on_s: float
    off_s: float
    fade_s: float = 0.0


@dataclass(frozen=True)
class Pattern:
    """What the LED and the buzzer do at one level: True = steady on, False = off, or a Blink."""

    led: bool | Blink
    buzzer: bool | Blink


PATTERNS: dict[str, Pattern] = {
    "ok": Pattern(led=False, buzzer=False),
    "notice": Pattern(led=True, buzzer=False),
    "warning": Pattern(led=Blink(0.5, 0.5), buzzer=Blink(0.15, 0.85)),
    "alarm": Pattern(led=Blink(0.1, 0.1), buzzer=True),
    "fault": Pattern(led=Blink(0.2, 1.4, fade_s=0.2), buzzer=False),
}

if tuple(PATTERNS) != LEVELS:  # pragma: no cover - an edit that forgets a level fails at import
    raise AssertionError(f"PATTERNS must cover {LEVELS} in order, has {tuple(PATTERNS)}")


def _check_level(level: str) -> str:
    rank(level)  # ValueError for an unknown level
    return level


class NullOutput:
    """The output interface with no hardware behind it (``--gpio off`` or no GPIO on the machine)."""

    def __init__(self, description: str = "GPIO off") -> None:
        self.description = description
        self._level = "ok"
        self._closed = False

    @property
    def level(self) -> str:
        """The level being shown; "ok" after :meth:`close`."""
        return self._level

    def set_level(self, level: str) -> None:
        """Record ``level``; ValueError for an unknown level."""
        _check_level(level)
        if not self._closed:
            self._level = level

    def close(self) -> None:
        """Idempotent."""
        self._closed = True
        self._level = "ok"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AlertOutput:
    """One buzzer and one LED showing the pattern of the current alert level.

    Args:
        config: The pins and the buzzer's polarity.
        pin_factory: The gpiozero factory the pins come from (e.g. ``MockFactory()`` in tests).
        owns_factory: Close ``pin_factory`` too in :meth:`close`.

    Raises:
        OutputError: The pins cannot be claimed (same pin twice, pin busy, no such pin).

    Both devices start off (level "ok"). :meth:`close` switches both off and releases the pins; it
    is idempotent and also runs on leaving a ``with`` block, so the buzzer is off on every exit path.
    Calls to :meth:`set_level` after :meth:`close` are ignored (a late alert during shutdown must
    not sound the buzzer again).
    """

    def __init__(self, config: GpioConfig, pin_factory: Any, *, owns_factory: bool = False) -> None:
        self._factory = pin_factory
        self._owns_factory = owns_factory
        self._lock = threading.Lock()
        self._level = "ok"
        self._closed = False
        self._led: LED | PWMLED | None = None
        self._buzzer: Buzzer | None = None
        self.pwm = False
        self.description = "GPIO (not opened)"
        try:
            if config.buzzer_pin == config.led_pin:
                raise OutputError(
                    f"gpio.buzzer_pin and gpio.led_pin are both GPIO{config.buzzer_pin}: "
                    "give each its own pin"
                )
            self._buzzer = self._claim(
                "buzzer",
                config.buzzer_pin,
                Buzzer,
                active_high=config.buzzer_active_high,
                initial_value=False,
            )
            try:
                self._led = PWMLED(config.led_pin, initial_value=0, pin_factory=pin_factory)
            except PinPWMUnsupported:
                self._led = self._claim("LED", config.led_pin, LED, initial_value=False)
            except Exception as exc:  # gpiozero's errors, and lgpio's own (e.g. "GPIO busy")
                raise _pin_error("LED", config.led_pin, exc) from exc
        except BaseException:
            self.close()  # releases what was claimed (and an owned factory)
            raise
        self.pwm = isinstance(self._led, PWMLED)
        led_kind = "PWM LED" if self.pwm else "LED"
        polarity = "active high" if config.buzzer_active_high else "active low"
        self.description = (
            f"buzzer on GPIO{config.buzzer_pin} ({polarity}), {led_kind} on GPIO{config.led_pin}"
        )

    def _claim(self, what: str, pin: int, cls: type, **kwargs: Any) -> Any:
        try:
            return cls(pin, pin_factory=self._factory, **kwargs)
        except Exception as exc:  # gpiozero's errors, and lgpio's own (e.g. "GPIO busy")
            raise _pin_error(what, pin, exc) from exc

    @property
    def level(self) -> str:
        """The level being shown; "ok" after :meth:`close`."""
        return self._level

    def set_level(self, level: str) -> None:
        """Show ``level``'s pattern; the same level again leaves the running pattern alone.

        Raises:
            ValueError: ``level`` is not one of :data:`LEVELS`.
            OutputError: A pin cannot be written.
        """
        pattern = PATTERNS[_check_level(level)]
        with self._lock:
            if self._closed or level == self._level:
                return
            try:
                # The buzzer first: a level that silences it does so before the LED changes.
                _apply(self._buzzer, pattern.buzzer, pwm=False)
                _apply(self._led, pattern.led, pwm=self.pwm)
            except Exception as exc:
                raise OutputError(f"cannot drive the buzzer/LED for level {level!r}: {exc}") from exc
            self._level = level

    def close(self) -> None:
        """Switch both off and release the pins (idempotent; errors are logged, not raised)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._level = "ok"
            for device in (self._buzzer, self._led):
                if device is None:
                    continue
                try:
                    device.off()  # stops its blink thread, then drives the pin inactive
                except Exception as exc:
                    logger.warning("could not switch off %r: %s", device, exc)
                try:
                    device.close()
                except Exception as exc:
                    logger.warning("could not release %r: %s", device, exc)
            if self._owns_factory and self._factory is not None:
                try:
                    self._factory.close()
                except Exception as exc:
                    logger.warning("could not close the GPIO pin factory: %s", exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _pin_error(what: str, pin: int, exc: Exception) -> OutputError:
    key = "buzzer_pin" if what == "buzzer" else "led_pin"
    return OutputError(f"cannot use GPIO{pin} for the {what}: {exc}; check gpio.{key} or run with --gpio off")


def _apply(device: Any, spec: bool | Blink, *, pwm: bool) -> None:
    if spec is True:
        device.on()
    elif spec is False:
        device.off()
    elif pwm:
        device.blink(
            on_time=spec.on_s, off_time=spec.off_s, fade_in_time=spec.fade_s, fade_out_time=spec.fade_s
        )
    else:
        device.blink(on_time=spec.on_s + spec.fade_s, off_time=spec.off_s + spec.fade_s)


def _real_factory() -> tuple[Any | None, str]:
    """A real pin factory (lgpio on a Pi, or the one $GPIOZERO_PIN_FACTORY names), or None and why not.

    Built from gpiozero's public entry points, so the global ``Device.pin_factory`` stays unset.
    """
    chosen = os.environ.get("GPIOZERO_PIN_FACTORY")
    names = (chosen, chosen.lower()) if chosen else REAL_FACTORIES
    factories = {ep.name: ep for ep in entry_points(group="gpiozero_pin_factories")}
    reasons = []
    for name in dict.fromkeys(names):
        if name not in factories:
            reasons.append(f"{name}: no such gpiozero pin factory")
            continue
        try:
            factory = factories[name].load()()
        except Exception as exc:  # a missing library, no GPIO chip, no permission
            reasons.append(f"{name}: {exc}")
            continue
        for reason in reasons:
            logger.debug("gpiozero: not %s", reason)
        if name == "native":
            logger.warning(
                "GPIO through gpiozero's native pin factory (no PWM, not on a Pi 5): install python3-lgpio"
            )
        return factory, ""
    return None, "; ".join(reasons)


def make_pin_factory(mode: str) -> tuple[Any | None, str]:
    """The pin factory for ``--gpio MODE`` and a short description of it.

    ``off`` → None; ``mock`` → ``MockFactory(pin_class=MockPWMPin)``; ``on`` → gpiozero's default
    real factory; ``auto`` → the real factory when the machine has ``/dev/gpiochip*`` and one can
    be built, else None with one logged warning. With None, use :class:`NullOutput`. The caller
    closes a returned factory (``AlertOutput(..., owns_factory=True)`` does).

    Raises:
        OutputError: ``on`` and no real GPIO can be used on this machine.
        ValueError: ``mode`` is not auto, on, off or mock.
    """
    if mode == "off":
        return None, "GPIO off"
    if mode == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin), "mock GPIO (gpiozero MockFactory)"
    if mode == "on":
        factory, why = _real_factory()
        if factory is None:
            raise OutputError(
                f"--gpio on: no usable GPIO on this machine ({why}); run on a Raspberry Pi with "
                "python3-lgpio installed, or use --gpio auto, off or mock"
            )
        return factory, f"GPIO ({type(factory).__name__})"
    if mode == "auto":
        chips = sorted(glob.glob(GPIOCHIP_GLOB))
        factory, why = _real_factory() if chips else (None, "no /dev/gpiochip*")
        if factory is None:
            logger.warning("no GPIO on this machine: buzzer and LED disabled (%s)", why)
            return None, "no GPIO on this machine"
        return factory, f"GPIO ({type(factory).__name__})"
    raise ValueError(f"unknown GPIO mode {mode!r}; expected auto, on, off or mock")


def open_alert_output(config: GpioConfig) -> AlertOutput | NullOutput:
    """``config.mode`` resolved to a factory and wrapped in an output that closes it (NullOutput if none)."""
    factory, description = make_pin_factory(config.mode)
    if factory is None:
        return NullOutput(description)
    return AlertOutput(config, pin_factory=factory, owns_factory=True)


__all__ = [
    "PATTERNS",
    "AlertOutput",
    "Blink",
    "NullOutput",
    "Pattern",
    "make_pin_factory",
    "open_alert_output",
]
