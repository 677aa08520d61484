"""Settings every test session shares."""

import os

# Opt in to python-telegram-bot's future default (RetryAfter.retry_after as a timedelta), as the
# bot itself does, so no test depends on which test module happened to be collected first.
os.environ.setdefault("PTB_TIMEDELTA", "true")
