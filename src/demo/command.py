"""`nezuko demo`: the whole story with no token and no database to install."""

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bootstrap.observability import configure_logging
from bootstrap.settings import Settings, environment_help
from demo.story import run_demo


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `demo` sub-command."""
    parser = add_parser(
        "demo",
        help="play the whole story against the built-in Bot API sandbox and an embedded "
        "PostgreSQL (no token needed)",
        description="Play the whole story (protect a group, mute, verify, lift, unprotect) "
        "against the built-in Bot API sandbox and a throw-away embedded PostgreSQL; no token "
        "and no database needed. Exits 0 only if every step behaved as expected.",
        epilog=environment_help(),
    )
    parser.set_defaults(handler=run)


def run(_: argparse.Namespace) -> int:
    """Tell the story; exit 0 only if every step behaved as expected."""
    configure_logging(Settings(log_level=logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="nezuko-demo-") as scratch:
        data_dir = Path(scratch)
        data_dir.chmod(0o711)  # the embedded server may run as `nobody`, which must enter it
        return 0 if asyncio.run(run_demo(sys.stdout, data_dir)) else 1
