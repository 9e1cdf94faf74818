"""Tests of the buzzer/LED output against gpiozero's MockFactory (pin state histories)."""

from __future__ import annotations

import itertools
import logging
import time

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from edge_monitor.config import GpioConfig
from edge_monitor.errors import OutputError
from edge_monitor.levels import LEVELS
from edge_monitor.outputs import gpio
from edge_monitor.outputs.gpio import (
    AlertOutput,
    NullOutput,
    make_pin_factory,
    open_alert_output,
)

CONFIG = GpioConfig()  # buzzer GPIO17 (active high), LED GPIO27

# What each level shows, written here independently of gpio.PATTERNS (the module docstring's table):
# 0 / 1 steady off / on, "blink" a pattern that starts on.
SHOWN = {
    "ok": {"buzzer": 0, "led": 0},
    "notice": {"buzzer": 0, "led": 1},
    "warning": {"buzzer": "blink", "led": "blink"},
    "alarm": {"buzzer": 1, "led": "blink"},
    "fault": {"buzzer": 0, "led": "blink"},
}
EARLY_S = 0.05  # a blink thread's wait hardly ends early...
LATE_S = 0.25  # ...but may end late on a loaded, non-realtime machine


@pytest.fixture(params=[MockPWMPin, MockPin], ids=["pwm", "plain"])
def factory(request):
    """A fresh mock factory per test: PWM pins (PWMLED) and plain pins (LED fallback)."""
    f = MockFactory(pin_class=request.param)
    yield f
    f.close()
    f.reset()


@pytest.fixture
def output(factory):
    out = AlertOutput(CONFIG, pin_factory=factory)
    yield out
    out.close()


@pytest.fixture
def pins(factory, output):
    """(buzzer pin, LED pin) of ``output``."""
    return factory.pin(CONFIG.buzzer_pin), factory.pin(CONFIG.led_pin)


def timeline(pin) -> list[tuple[float, float]]:
    """The pin's history as (seconds since clear_states, state), the first entry the state then."""
    t, out = 0.0, []
    for s in list(pin.states):
        t += s.timestamp
        out.append((t, float(s.state)))
    return out


def edges(pin, state: float) -> list[float]:
    """Times at which the pin changed to ``state`` (the initial entry excluded)."""
    return [t for t, s in timeline(pin)[1:] if s == state]


def assert_time(actual: float, expected: float, late_s: float = LATE_S) -> None:
    assert expected - EARLY_S <= actual <= expected + late_s, f"{actual:.3f} s, expected {expected} s"


def wait_for(predicate, timeout_s: float = 3.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, "timed out waiting for the pin states"
        time.sleep(0.005)


def start(output, pins, level: str) -> None:
    for pin in pins:
        pin.clear_states()
    output.set_level(level)


def test_starts_ok_with_both_pins_low_and_claimed(factory, output, pins):
    buzzer, led = pins
    assert output.level == "ok"
    assert output.pwm is (factory.pin_class is MockPWMPin)
    assert ("PWM LED" in output.description) is output.pwm
    assert buzzer.function == led.function == "output"
    assert buzzer.state == 0 and led.state == 0


def test_ok_keeps_both_low(output, pins):
    buzzer, led = pins
    output.set_level("notice")
    start(output, pins, "ok")
    assert output.level == "ok"
    time.sleep(0.2)
    assert timeline(buzzer) == [(0.0, 0.0)]
    assert [s for _, s in timeline(led)] == [1.0, 0.0]


def test_notice_is_a_steady_led_and_no_tone(output, pins):
    buzzer, led = pins
    start(output, pins, "notice")
    assert output.level == "notice"
    time.sleep(0.3)
    assert timeline(buzzer) == [(0.0, 0.0)]
    assert [s for _, s in timeline(led)] == [0.0, 1.0]  # on once, never toggled


def test_warning_blinks_the_led_and_beeps_briefly(output, pins):
    buzzer, led = pins
    start(output, pins, "warning")
    # one full period of each: LED on, off after 0.5 s, on again after 1 s; buzzer the same at 0.15/1 s
    wait_for(lambda: len(edges(led, 1.0)) >= 2 and len(edges(buzzer, 1.0)) >= 2)
    led_on, led_off = edges(led, 1.0), edges(led, 0.0)
    assert_time(led_on[0], 0.0)
    assert_time(led_off[0] - led_on[0], 0.5)
    assert_time(led_on[1] - led_on[0], 1.0)
    beep_on, beep_off = edges(buzzer, 1.0), edges(buzzer, 0.0)
    assert_time(beep_on[0], 0.0)
    assert_time(beep_off[0] - beep_on[0], 0.15)  # a short beep
    assert_time(beep_on[1] - beep_on[0], 1.0)  # once a second
    assert all(s in (0.0, 1.0) for _, s in timeline(led))  # a blink, not a fade


def test_alarm_is_a_continuous_tone_and_a_fast_blink(output, pins):
    buzzer, led = pins
    start(output, pins, "alarm")
    assert buzzer.state == 1  # the tone starts before set_level returns
    wait_for(lambda: len(timeline(led)) >= 7)  # six LED changes: three 0.1 s on/off periods
    assert [s for _, s in timeline(buzzer)] == [0.0, 1.0]  # high once, stays high
    times = [t for t, _ in timeline(led)[1:]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap in gaps:
        assert_time(gap, 0.1)


def test_fault_is_a_slow_led_pulse_and_never_a_tone(output, pins):
    buzzer, led = pins
    start(output, pins, "fault")
    wait_for(lambda: led.state == 1)
    wait_for(lambda: timeline(led)[-1][1] == 0.0 and len(timeline(led)) > 2)  # the pulse ended
    lit_until = timeline(led)[-1][0]
    time.sleep(max(0.0, 1.0 - lit_until))  # dark for the rest of the 2 s period
    history = timeline(led)
    assert history[-1] == (lit_until, 0.0)  # no second pulse within 1 s
    if output.pwm:  # fade in 0.2 s, hold 0.2 s, fade out 0.2 s
        assert any(0.0 < s < 1.0 for _, s in history)
        assert_time(lit_until, 0.6, late_s=0.4)  # ten fade steps, each may wake late
    else:  # plain pin: 0.4 s on, 1.6 s off
        assert [s for _, s in history] == [0.0, 1.0, 0.0]
        assert_time(lit_until, 0.4)
    assert timeline(buzzer) == [(0.0, 0.0)]


def test_same_level_again_does_not_restart_the_pattern(output, pins):
    buzzer, led = pins
    start(output, pins, "warning")
    wait_for(lambda: edges(led, 0.0))  # 0.5 s in: LED and buzzer both off
    before = timeline(led), timeline(buzzer)
    output.set_level("warning")
    time.sleep(0.15)  # a restart would have switched both on at once
    assert (timeline(led), timeline(buzzer)) == before


def test_alarm_to_ok_silences_the_buzzer_at_once_and_stops_the_blink(output, pins):
    buzzer, led = pins
    output.set_level("alarm")
    wait_for(lambda: len(led.states) > 3)
    output.set_level("ok")
    assert buzzer.state == 0 and led.state == 0  # before set_level returned
    for pin in pins:
        pin.clear_states()
    time.sleep(0.3)  # the blink thread is gone: nothing changes any more
    assert timeline(buzzer) == [(0.0, 0.0)] and timeline(led) == [(0.0, 0.0)]


@pytest.mark.parametrize("first", LEVELS)
@pytest.mark.parametrize("second", LEVELS)
def test_every_transition_shows_the_new_pattern(output, pins, first, second):
    buzzer, led = pins
    output.set_level(first)
    time.sleep(0.02)
    if second != first:  # (the same level again continues the pattern, history and all)
        for pin in pins:
            pin.clear_states()
    output.set_level(second)
    assert output.level == second
    for pin, shown in ((buzzer, SHOWN[second]["buzzer"]), (led, SHOWN[second]["led"])):
        if shown == "blink":  # a blink starts on (a PWM fade within its fade time)
            wait_for(lambda pin=pin: any(s.state == 1 for s in list(pin.states)))
        else:  # steady states are in place when set_level returns, and stay
            assert pin.state == shown
            time.sleep(0.05)
            assert pin.state == shown


@pytest.mark.parametrize("level", LEVELS)
def test_close_from_every_level_leaves_both_low_and_releases_the_pins(factory, output, pins, level):
    buzzer, led = pins
    output.set_level(level)
    time.sleep(0.05)
    output.close()
    assert output.level == "ok"
    assert buzzer.state == 0 and led.state == 0
    assert buzzer.function == led.function == "input"  # released
    for pin in pins:
        pin.clear_states()
    output.set_level("alarm")  # ignored after close
    time.sleep(0.15)
    assert timeline(buzzer) == [(0.0, 0.0)] and timeline(led) == [(0.0, 0.0)]
    AlertOutput(CONFIG, pin_factory=factory).close()  # the pins can be claimed again


def test_close_twice_and_context_manager(factory):
    buzzer = factory.pin(CONFIG.buzzer_pin)
    with AlertOutput(CONFIG, pin_factory=factory) as out:
        out.set_level("alarm")
        assert buzzer.state == 1
    assert buzzer.state == 0
    out.close()
    out.close()
    assert out.level == "ok"


def test_context_manager_switches_off_when_the_body_raises(factory):
    buzzer = factory.pin(CONFIG.buzzer_pin)
    with pytest.raises(RuntimeError), AlertOutput(CONFIG, pin_factory=factory) as out:
        out.set_level("alarm")
        raise RuntimeError("boom")
    assert buzzer.state == 0 and buzzer.function == "input"


def test_active_low_buzzer_inverts_the_pin():
    # A plain mock pin: MockPWMPin.close() drives the pin to 0 as it clears the PWM frequency (a mock
    # detail; lgpio only reclaims the line as an input), which would hide the released level here.
    factory = MockFactory()
    cfg = GpioConfig(buzzer_active_high=False)
    buzzer = factory.pin(cfg.buzzer_pin)
    try:
        out = AlertOutput(cfg, pin_factory=factory)
        assert "active low" in out.description
        assert buzzer.state == 1  # silent
        buzzer.clear_states()
        out.set_level("alarm")
        assert buzzer.state == 0  # sounding
        out.set_level("notice")
        assert buzzer.state == 1
        out.set_level("alarm")
        out.close()
        assert buzzer.state == 1 and buzzer.function == "input"  # silent, then released
        assert [s for _, s in timeline(buzzer)] == [1.0, 0.0, 1.0, 0.0, 1.0]
    finally:
        factory.close()
        factory.reset()


def test_unknown_level_is_a_value_error_and_changes_nothing(output, pins):
    output.set_level("notice")
    with pytest.raises(ValueError, match="unknown alert level 'panic'"):
        output.set_level("panic")
    assert output.level == "notice"
    with pytest.raises(ValueError):
        NullOutput().set_level("ALARM")


def test_pins_in_use_are_an_output_error(factory):
    with pytest.raises(OutputError, match="both GPIO5"):
        AlertOutput(GpioConfig(buzzer_pin=5, led_pin=5), pin_factory=factory)
    other = LED(CONFIG.led_pin, pin_factory=factory)
    with pytest.raises(OutputError, match=r"GPIO27 for the LED.*gpio\.led_pin"):
        AlertOutput(CONFIG, pin_factory=factory)
    other.close()
    AlertOutput(CONFIG, pin_factory=factory).close()  # the failed attempt released the buzzer pin


def test_null_output_has_the_same_interface():
    with NullOutput() as out:
        assert out.level == "ok"
        out.set_level("alarm")
        assert out.level == "alarm"
    out.close()
    out.set_level("warning")
    assert out.level == "ok"


# --- make_pin_factory ---------------------------------------------------------------------------


@pytest.fixture
def no_gpiochip(monkeypatch, tmp_path):
    """A machine without /dev/gpiochip* and without a factory chosen by the environment."""
    monkeypatch.setattr(gpio, "GPIOCHIP_GLOB", str(tmp_path / "gpiochip*"))
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)


def test_off_is_no_factory():
    assert make_pin_factory("off") == (None, "GPIO off")


def test_mock_is_a_pwm_mock_factory():
    factory, description = make_pin_factory("mock")
    try:
        assert isinstance(factory, MockFactory) and factory.pin_class is MockPWMPin
        assert "mock" in description
    finally:
        factory.close()


def test_unknown_mode_is_a_value_error():
    with pytest.raises(ValueError, match="unknown GPIO mode"):
        make_pin_factory("yes")


def test_auto_without_gpio_is_none_with_one_warning(no_gpiochip, caplog, recwarn):
    with caplog.at_level(logging.WARNING, logger="edge_monitor.gpio"):
        factory, _ = make_pin_factory("auto")
    assert factory is None
    assert [r.getMessage() for r in caplog.records] == [
        "no GPIO on this machine: buzzer and LED disabled (no /dev/gpiochip*)"
    ]
    assert len(recwarn) == 0


def test_auto_with_a_gpiochip_but_no_usable_factory_warns_once(monkeypatch, tmp_path, caplog, recwarn):
    (tmp_path / "gpiochip0").touch()
    monkeypatch.setattr(gpio, "GPIOCHIP_GLOB", str(tmp_path / "gpiochip*"))
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")
    with caplog.at_level(logging.WARNING, logger="edge_monitor.gpio"):
        factory, _ = make_pin_factory("auto")
    assert factory is None
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("no GPIO on this machine: buzzer and LED disabled")
    assert len(recwarn) == 0  # gpiozero's fallback warnings are folded into that one message


def test_on_without_gpio_is_a_one_line_output_error(recwarn):
    if gpio.glob.glob(gpio.GPIOCHIP_GLOB):
        pytest.skip("this machine has GPIO")
    with pytest.raises(OutputError) as info:
        make_pin_factory("on")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("--gpio on: no usable GPIO on this machine")
    assert "--gpio auto, off or mock" in message
    assert len(recwarn) == 0


def test_on_honours_gpiozero_pin_factory(monkeypatch):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    factory, description = make_pin_factory("on")
    try:
        assert isinstance(factory, MockFactory)
        assert description == "GPIO (MockFactory)"
    finally:
        factory.close()


def test_open_alert_output_resolves_the_mode(no_gpiochip):
    with open_alert_output(GpioConfig(mode="off")) as out:
        assert isinstance(out, NullOutput) and out.description == "GPIO off"
    with open_alert_output(GpioConfig(mode="mock")) as out:
        assert isinstance(out, AlertOutput) and out.pwm
        out.set_level("alarm")
        assert out.level == "alarm"
    assert out.level == "ok"
