"""The registry of `nezuko` sub-commands.

Each sub-command is a module exposing `register(add_parser)`: it calls
`add_parser(name, help=...)`, adds its arguments, and sets `handler=` in the parser's defaults to a
function that takes the parsed arguments and returns an exit code. Add a new sub-command by
appending its module to `ALL`.

The operator's commands live in `bootstrap`; `nezuko demo` lives in `demo`, a layer above
`bootstrap`, which is why this registry is not in `bootstrap` (pyproject.toml, `layers`).
"""

import argparse
from collections.abc import Callable
from typing import Protocol

from bootstrap import migrate_command, run_command, sandbox_command
from demo import command as demo_command

type AddParser = Callable[..., argparse.ArgumentParser]


class SubCommand(Protocol):
    """A module that adds one sub-command to the `nezuko` parser."""

    def register(self, add_parser: AddParser) -> None:
        """Add the sub-command's parser and set `handler` in its defaults."""
        ...


ALL: tuple[SubCommand, ...] = (run_command, migrate_command, demo_command, sandbox_command)
