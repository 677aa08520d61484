"""`python -m nezuko` is the same as the `nezuko` console script."""

from nezuko.cli import main

raise SystemExit(main())
