"""Fixtures for python-binance against a live RLTOP bridge (`rltop bridge`).

Environment, as for ../python (its bridgeutil.py is shared):
  RLTOP_BRIDGE_URL   base URL of the running bridge (required: every test fails without it)
  RLTOP_ORACLE       the simulator's final books (`rltop sim --books FILE`), optional
  RLTOP_END_TIMEOUT  seconds the depth-cache test waits for /healthz to say "ended"

Tests marked ``until_ended`` follow the streams until the source ends; run them against a
bridge replaying a capture (xtask runs them against their own bridge).
"""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from bridgeutil import health_of, wait_for_status  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "until_ended: follows the bridge's streams until its source has ended"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A skip (from anywhere) is a failure: nothing is left out silently.
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, which these tests do not allow: {reason}"


@pytest.fixture(scope="session")
def bridge_url():
    import os

    url = os.environ.get("RLTOP_BRIDGE_URL", "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        pytest.fail(
            f"RLTOP_BRIDGE_URL={url!r}: set it to the running bridge, e.g. http://127.0.0.1:P",
            pytrace=False,
        )
    try:
        health_of(url)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the bridge at {url} does not answer GET /healthz: {e}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def ws_url(bridge_url):
    return "ws" + bridge_url[len("http"):]


@pytest.fixture
def live_source(bridge_url):
    body = wait_for_status(bridge_url, {"live", "ended"}, 30)
    if body["status"] == "ended":
        pytest.fail(f"the bridge's source has already ended: {body}", pytrace=False)
    return body
