"""`nezuko demo` tells the whole story and every step behaves (what `make demo` shows)."""

import io
import tempfile
from pathlib import Path

from bootstrap.demo import run_demo


async def test_the_demo_story_holds_end_to_end() -> None:
    out = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="nezuko-demo-test-") as scratch:
        data_dir = Path(scratch)
        data_dir.chmod(0o711)  # the embedded server may run as `nobody`
        ok = await run_demo(out, data_dir)
    transcript = out.getvalue()
    assert ok, transcript
    assert "13 passed, 0 failed of 13 steps" in transcript
    assert "✗" not in transcript
