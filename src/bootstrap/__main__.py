"""`python -m bootstrap` is the same as the `nezuko` console script."""

from bootstrap.cli import main

raise SystemExit(main())
