"""`make bench` fails the hot path below 0.9 of bare PTB's throughput (issue 15, point 3)."""

from bench.hot_path import RATIO_TARGET, Run, hot_path_results


def _verdicts(bare_seconds: float, our_seconds: float) -> tuple[tuple[str, ...], float | None]:
    rows = hot_path_results(Run(bare_seconds, (), 0), Run(our_seconds, (), 0), 20_000)
    ours = next(row for row in rows if row.workload == "hot path burst: Nezuko")
    return ours.missed, ours.ratio


def test_a_hot_path_slower_than_the_target_is_a_missed_target() -> None:
    missed, ratio = _verdicts(2.0, 2.0 / (RATIO_TARGET - 0.01))

    assert ratio is not None
    assert ratio < RATIO_TARGET
    assert missed == (f"throughput {ratio:.2f} of bare PTB (target {RATIO_TARGET})",)


def test_a_hot_path_at_or_above_the_target_meets_it() -> None:
    assert _verdicts(2.0, 2.2) == ((), 2.0 / 2.2)  # 0.91
    assert _verdicts(2.0, 1.8)[0] == ()


def test_io_on_the_hot_path_is_missed_whatever_the_speed() -> None:
    rows = hot_path_results(Run(2.0, (), 0), Run(1.0, ("getChatMember",), 3), 20_000)

    assert rows[1].missed == ("the hot path cost 1 Telegram calls and 3 checkouts (target 0)",)
