"""`python -m bench`: see `bench.hot_path`."""

import sys

from bench.hot_path import cli

sys.exit(cli())
