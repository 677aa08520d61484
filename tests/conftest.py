"""Settings every test session shares."""

import os

import pytest

# Opt in to python-telegram-bot's future default (RetryAfter.retry_after as a timedelta), as the
# bot itself does, so no test depends on which test module happened to be collected first.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="also run the tests marked `long` (minutes of real time each; `make bench` does)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the `long` tests to `make bench`, and say so: they are deselected, not skipped."""
    if config.getoption("--long"):
        return
    long = [item for item in items if item.get_closest_marker("long")]
    if not long:
        return
    items[:] = [item for item in items if not item.get_closest_marker("long")]
    config.hook.pytest_deselected(items=long)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"{len(long)} long tests left to `make bench` (pytest --long runs them): "
            + ", ".join(item.nodeid.rsplit("/", 1)[-1] for item in long)
        )
