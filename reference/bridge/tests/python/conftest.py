"""Shared fixtures for the tests that run against a live RLTOP bridge (`rltop bridge`).

Environment:
  RLTOP_BRIDGE_URL   base URL of the running bridge, e.g. http://127.0.0.1:18490 (required:
                     every test fails with a clear message without it; nothing is skipped)
  RLTOP_ORACLE       the simulator's final books (`rltop sim --books FILE`), optional: when
                     given, the book test also compares the top 10 levels with it
  RLTOP_END_TIMEOUT  seconds the book test waits for /healthz to say "ended" (default 50)
  RLTOP_ALLOW_GAPS   "1": the binary test accepts order_book_seq gaps (a lossy multicast source)

Order: tests marked ``until_ended`` (they follow the streams until the source ends) run last,
so that the tests that need a live source get it first.
"""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
# bridgeutil.py beside this file, whatever pytest's import mode.
sys.path.insert(0, str(HERE))

from bridgeutil import health_of, scales_of, wait_for_status  # noqa: E402

# The generated package from this repository, when it is not installed.
try:
    import rltop  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "generated" / "python"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "until_ended: follows the bridge's streams until its source has ended; runs last"
    )


def pytest_collection_modifyitems(session, config, items):
    # Stable: the live-source tests keep their order, the until-ended ones go to the end.
    items.sort(key=lambda item: 1 if item.get_closest_marker("until_ended") else 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Nothing is skipped silently: a skip (from anywhere: a plugin, an importorskip) is a failure.
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, which these tests do not allow: {reason}"


def pytest_report_header(config):
    return [
        f"RLTOP_BRIDGE_URL={os.environ.get('RLTOP_BRIDGE_URL', '(not set)')}",
        f"RLTOP_ORACLE={os.environ.get('RLTOP_ORACLE', '(not set)')}",
    ]


# ---- the bridge --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bridge_url():
    url = os.environ.get("RLTOP_BRIDGE_URL", "").strip().rstrip("/")
    if not url:
        pytest.fail(
            "RLTOP_BRIDGE_URL is not set: start `rltop bridge --port P --source ...` and run "
            "with RLTOP_BRIDGE_URL=http://127.0.0.1:P",
            pytrace=False,
        )
    if not url.startswith(("http://", "https://")):
        pytest.fail(f"RLTOP_BRIDGE_URL={url!r} is not an http:// or https:// URL", pytrace=False)
    # Reachable at all: one clear failure instead of one connection error per call.
    try:
        health_of(url)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the bridge at {url} does not answer GET /healthz: {e}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def ws_url(bridge_url):
    """ws://host:port (the SDK appends /ws or /stream itself)."""
    return "ws" + bridge_url[len("http"):]


@pytest.fixture(scope="session")
def spot(bridge_url):
    from binance.spot import Spot

    return Spot(base_url=bridge_url, timeout=10)


@pytest.fixture(scope="session")
def exchange_info(spot):
    return spot.exchange_info()


@pytest.fixture(scope="session")
def symbols(exchange_info):
    names = [s["symbol"] for s in exchange_info["symbols"]]
    assert names, "exchangeInfo lists no symbols"
    return names


@pytest.fixture(scope="session")
def scales(exchange_info):
    """symbol -> (price exponent, quantity exponent), implied by tickSize and stepSize."""
    return {s["symbol"]: scales_of(s) for s in exchange_info["symbols"]}


@pytest.fixture
def live_source(bridge_url):
    """The source is live (waits up to 30 s through "starting"); fails if it has already ended,
    since the test needs events to arrive."""
    body = wait_for_status(bridge_url, {"live", "ended"}, 30)
    if body["status"] == "ended":
        pytest.fail(
            "the bridge's source has already ended, so no stream events will come: start the "
            "bridge again (a longer capture, or a lower --speed) and run the tests right away. "
            f"/healthz: {body}",
            pytrace=False,
        )
    return body
