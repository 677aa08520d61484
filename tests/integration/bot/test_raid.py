"""A raid through the real stack: 1,000 non-subscribed members join one protected group in 10 s.

The sandbox enforces Telegram's flood limits and the bot paces itself as for Telegram. Issue 10
measured, before the paced sender: 56 of 1,000 muted after 120 s, 197 of 200 spam messages still
visible, an admin of another group waiting behind the warnings, and a stop that did not finish.
Rules 3, 10 and 11: moderation never waits on a message. This test holds the workload of
`bench/raid.py` to what must hold on any machine (everyone muted, all spam deleted, warnings
merged, no 429, a bounded stop) and issue 12's (raid mode on by itself: at most 3 messages
into the group, the raid notice edited in place); `make bench` holds it to the issue's times
(30 s after the last join, 2 s for the other group's answer), which a test run under coverage
on 2 shared cores cannot time honestly.
"""

from bench.raid import TARGETS, raid, report

from bootstrap.settings import Settings
from tests.integration.conftest import DatabaseFactory

PATIENCE = 120.0
"""Seconds after the last join; before the paced sender this took about 90 minutes."""


async def test_rule_11_a_raid_of_1000_joins_is_muted_and_cleaned_up_with_no_429(
    database_factory: DatabaseFactory,
) -> None:
    database = await database_factory()

    result = (await raid(Settings(database_url=database.runtime_url))).figures

    print("\n" + report(result))  # pytest -s shows the figures
    assert result.cleaned_after < PATIENCE  # everyone muted, every spam message deleted
    assert result.spam > 0
    assert result.floods == 0
    # issue 12: raid mode starts by itself (default threshold): one notice, edited in place
    assert result.messages_into_group <= TARGETS.messages_into_group
    assert result.notice_edits >= 1
    assert result.slowest_answer < 10.0
    assert result.stop_seconds < 10.0
