"""The `nezuko` console script: one sub-command per operator task.

Exit codes: 0 done; 1 a bug or a failed step; 2 a usage or configuration problem (`nezuko` with
no command prints the help and exits 2); `nezuko run` adds 3 and 4 (README, Operations).
"""

import argparse
import sys
import textwrap
from collections.abc import Sequence

from bootstrap.version import installed_version
from nezuko import commands

EXIT_USAGE = 2
HELP_WIDTH = 79


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command this build provides."""
    parser = argparse.ArgumentParser(
        prog="nezuko",
        description=(
            "Nezuko: makes members of a Telegram group join the group's required channels "
            "before they can talk there."
        ),
        epilog="Run `nezuko COMMAND --help` for a command's options and environment variables.",
    )
    parser.add_argument("--version", action="version", version=f"nezuko {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands.ALL:
        command.register(_described(sub.add_parser))
    return parser


def _described(add_parser: commands.AddParser) -> commands.AddParser:
    """`add_parser` keeping the line breaks of the environment table.

    The description defaults to the one-line help; its paragraphs are wrapped.
    """

    def add(name: str, **kwargs: object) -> argparse.ArgumentParser:
        description = str(kwargs.get("description") or kwargs.get("help") or "")
        paragraphs = (textwrap.fill(p, HELP_WIDTH) for p in description.split("\n\n"))
        kwargs["description"] = "\n\n".join(paragraphs)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        return add_parser(name, **kwargs)

    return add


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named on the command line; with none, print the help and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(handler(args))
