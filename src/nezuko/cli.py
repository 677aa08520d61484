"""The `nezuko` console script: one sub-command per operator task."""

import argparse
from collections.abc import Sequence

from nezuko import commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command this build provides."""
    parser = argparse.ArgumentParser(
        prog="nezuko",
        description=(
            "Nezuko: makes members of a Telegram group join the group's required channels "
            "before they can talk there."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands.ALL:
        command.register(sub.add_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named on the command line; print help when none is given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    return int(handler(args))
