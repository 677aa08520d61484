"""`make bench` keeps working: a small burst through both bots, its figures and its verdict."""

import io
import re

from bench.hot_path import main

from bootstrap.settings import Settings
from tests.integration.conftest import DatabaseFactory


async def test_the_bench_runs_both_bots_and_finds_the_hot_path_free_of_io(
    database_factory: DatabaseFactory,
) -> None:
    database = await database_factory()
    out = io.StringIO()
    code = await main(
        60,
        3,
        Settings(database_url=database.runtime_url),
        out,
        reads_budget=1.0,
        with_raid=False,
        paced=50,
        ratio_target=0.0,  # 60 messages say nothing of throughput: `make bench` holds 0.9
    )
    text = out.getvalue()
    assert code == 0, text
    assert "bare PTB (do-nothing handler)" in text
    assert "throughput Nezuko / bare PTB" in text
    assert "hot path: 60 messages from 3 members in 3 groups" in text
    # the warm-up did cost I/O, so the burst's zeros are measured, not a blind spot
    warm_up = re.search(r"caches filling\): (\d+) Bot API calls, (\d+) checkouts", text)
    assert warm_up is not None, text
    assert int(warm_up[1]) >= 6  # two channels per member at least
    assert int(warm_up[2]) >= 1
    assert "checkouts in the burst:   0" in text
    # our limiter let every read through; PTB's stock one held most of them back
    reads = re.findall(r"(\d+) done in", text)
    assert int(reads[0]) == 100
    assert int(reads[1]) < 100
    # the summary table: one row per hot-path measurement, latency observed for each
    rows = {
        line.split("  ")[0]: line for line in text.splitlines() if line.startswith("hot path ")
    }
    assert set(rows) == {
        "hot path burst: bare PTB",
        "hot path burst: Nezuko",
        "hot path 500/s: bare PTB",
        "hot path 500/s: Nezuko",
    }, text
    assert all(" ms " in row or " s " in row for row in rows.values()), text
