"""Rule 15: no English sentence a person reads is written outside the catalogs.

Scope: what the bot shows in Telegram is composed only in the Telegram adapter (DESIGN §2:
texts and keyboards live there; the domain and the use cases hand over values, and their
exceptions' `str()` is for logs), and there only in the modules that write texts for people:
`texts.py` (warnings, notices of raids, gate messages, keyboards), `replies.py` (replies to
commands and presses), `notices.py` (admin, member and log-channel notices) and `handlers.py`
(which picks them). The rest of the adapter (the messenger, the rate limiter, polling, the
webhook) only carries rendered texts, and speaks to operators in logs and exceptions. Every
string literal of the four modules that holds two English words or more must be one of:

- a message id: the first argument(s) of `gettext`, `ngettext`, `pgettext` or `N_`;
- a docstring, or an argument of a logging call (`log.info(...)`): read by developers and
  operators, never sent;
- an exception's message (`raise XError("…")`): read in logs (not `UsageError`, whose
  message is the reply).

Anything else fails this test, naming the file, the line and the text.
"""

import ast
import re
from pathlib import Path

ADAPTER = Path(__file__).parents[3] / "src" / "adapters" / "telegram"
MODULES = ("texts.py", "replies.py", "notices.py", "handlers.py")
SENTENCE = re.compile(r"[A-Za-z]{2,}[,;:.!?']?\s+[A-Za-z]{2,}")
SHOWN_ERRORS = {"UsageError"}
"""Exceptions whose message is the reply itself."""
CATALOG_CALLS = {"gettext", "ngettext", "pgettext", "N_"}
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _exempt_constants(tree: ast.AST) -> set[int]:
    """Ids of the string nodes that are message ids, docstrings or log arguments."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                exempt.add(id(body[0].value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            exempt.add(id(node.value))  # attribute docstrings
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in CATALOG_CALLS:
                for arg in node.args:
                    exempt.update(id(n) for n in ast.walk(arg) if isinstance(n, ast.Constant))
            elif name in LOG_CALLS or (name.endswith("Error") and name not in SHOWN_ERRORS):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    exempt.update(id(n) for n in ast.walk(arg))
    return exempt


def stray_english(path: Path) -> list[str]:
    """`file:line: text` for each string literal outside the catalogs that reads as English."""
    tree = ast.parse(path.read_text(), str(path))
    exempt = _exempt_constants(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in exempt:
            continue
        if SENTENCE.search(node.value):
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


def test_every_english_sentence_of_the_telegram_adapter_is_in_the_catalogs() -> None:
    found = [line for name in MODULES for line in stray_english(ADAPTER / name)]
    assert not found, "\n".join(found)


def test_the_scan_finds_a_sentence_written_outside_the_catalogs(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        '"""Docstring words."""\n'
        'log.info("operators read this")\n'
        'ok = t.gettext("In the catalog {x}", x=1)\n'
        'bad = f"Join {channel} first, please"\n'
        'raise UsageError("Write it like this")\n'
    )
    assert stray_english(module) == [
        "module.py:4: ' first, please'",
        "module.py:5: 'Write it like this'",
    ]
