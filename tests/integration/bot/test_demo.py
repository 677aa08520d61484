"""`nezuko demo` tells the whole story and every step behaves (what `make demo` shows)."""

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.story import run_demo


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nezuko-demo-test-") as scratch:
        path = Path(scratch)
        path.chmod(0o711)  # the embedded server may run as `nobody`, which must enter it
        yield path


async def test_the_demo_story_holds_end_to_end(data_dir: Path) -> None:
    out = io.StringIO()
    ok = await run_demo(out, data_dir)
    transcript = out.getvalue()
    assert ok, transcript
    assert "23 passed, 0 failed of 23 steps" in transcript
    assert "✗" not in transcript
