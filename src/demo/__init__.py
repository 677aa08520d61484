"""The narrated demo (`nezuko demo`): a client of `bootstrap`, the layer just above it.

`demo.story` tells the story with the real bot (`bootstrap.bot.running_bot`) against the Bot API
sandbox (`telegram_sandbox`); `demo.command` is its `nezuko demo` sub-command. Nothing below
imports it: the `nezuko` package (the console script) is the only layer above (import-linter's
`layers` contract in pyproject.toml).
"""
