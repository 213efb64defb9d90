"""Helpers shared by the bridge tests (imported by conftest.py and the test modules)."""

import json
import os
import time
import urllib.error
import urllib.request
from decimal import Decimal

import pytest


def health_of(bridge_url, timeout=5.0):
    """GET /healthz as (HTTP status, JSON body)."""
    try:
        with urllib.request.urlopen(bridge_url + "/healthz", timeout=timeout) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:  # a 503 while starting or stale still has the body
        return e.code, json.loads(e.read().decode())


def wait_for_status(bridge_url, wanted, timeout):
    """Polls /healthz until its status is one of `wanted`; returns the body, or fails."""
    deadline = time.monotonic() + timeout
    body = None
    while True:
        _, body = health_of(bridge_url)
        if body.get("status") in wanted:
            return body
        if time.monotonic() > deadline:
            pytest.fail(
                f"/healthz did not reach {sorted(wanted)} within {timeout:.0f} s; last: {body}",
                pytrace=False,
            )
        time.sleep(0.2)


def end_timeout():
    return float(os.environ.get("RLTOP_END_TIMEOUT", "50"))


# ---- decimals and scaled integers ---------------------------------------------------------------


def filter_of(symbol_info, filter_type):
    for f in symbol_info.get("filters", []):
        if f.get("filterType") == filter_type:
            return f
    raise AssertionError(f"{symbol_info['symbol']}: no {filter_type} filter in exchangeInfo")


def exponent_of(step):
    """The decimal exponent a tick or step size implies: "0.01000000" -> -2.

    The feed's tick_size / lot_size are integers of the instrument's scale; the simulator's are
    1, so tickSize = 10^price_exponent exactly. (A tick of 10 units would read as one decimal
    less; the sim never makes one.)"""
    d = Decimal(step)
    assert d > 0, f"step {step!r} is not positive"
    return d.normalize().as_tuple().exponent


def scales_of(symbol_info):
    return (
        exponent_of(filter_of(symbol_info, "PRICE_FILTER")["tickSize"]),
        exponent_of(filter_of(symbol_info, "LOT_SIZE")["stepSize"]),
    )


def scaled(text, exponent):
    """A decimal string as the integer of 10^exponent units; fails if it is not a whole number
    of them."""
    d = Decimal(text).scaleb(-exponent)
    assert d == d.to_integral_value(), f"{text!r} is not a multiple of 1e{exponent}"
    return int(d)
