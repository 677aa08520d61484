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

The audit reasons the use cases record are read by admins too (`/log`, the log channel): the
second scan, over `src/application` and `src/domain`, fails on any reason not built from a
template of `domain/reasons.py` (see below).
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


# --- audit reasons (the domain and the use cases) ---------------------------------------------
#
# The use cases record why they acted (`AuditEvent.reason`); admins read it in /log and the log
# channel, translated from the template it was made from (`domain/reasons.py`). A reason written
# inline (an English literal, an f-string, a string built by `+` or `join`) has no template, so
# it could only be shown in English: every reason must be a `reasons.X` constant or
# `reasons.X.format(...)` (or a variable or parameter that holds one).

SRC = ADAPTER.parents[1]
CORE = ("application", "domain")
AUDIT = SRC / "domain" / "audit.py"
REASON_PARAMETERS = {"reason", "why"}
"""The parameters, keywords and variables that carry a reason."""


def _reason_positions(trees: list[ast.Module]) -> dict[str, set[int]]:
    """Function name → the positions of its reason parameter (without `self`/`cls`).

    Every function of the scanned code with a `reason` or `why` parameter: `AuditEvent`'s
    constructors and the helpers that pass a reason on (`approve(group, user, reason)`);
    `AuditEvent(...)` itself takes it as its 7th field.
    """
    positions: dict[str, set[int]] = {"AuditEvent": {6}}
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
            if names and names[0] in {"self", "cls"}:
                names = names[1:]
            for index, name in enumerate(names):
                if name in REASON_PARAMETERS:
                    positions.setdefault(node.name, set()).add(index)
    return positions


def _assignments(function: ast.AST) -> dict[str, list[ast.expr]]:
    """Name → every value assigned to it in the function."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif (
            isinstance(node, ast.AnnAssign | ast.NamedExpr)
            and node.value is not None
            and isinstance(node.target, ast.Name)
        ):
            assigned.setdefault(node.target.id, []).append(node.value)
    return assigned


def _inline(
    node: ast.expr, assigned: dict[str, list[ast.expr]], seen: set[str]
) -> ast.expr | None:
    """The part of a reason expression written inline in English, or `None` (from a template)."""
    match node:
        case ast.Constant(value=""):
            return None
        case ast.Name(id=name):
            if name in seen:  # a parameter, or a name already followed
                return None
            for value in assigned.get(name, []):
                found = _inline(value, assigned, seen | {name})
                if found is not None:
                    return found
            return None
        case ast.Attribute() | ast.Subscript(value=ast.Attribute() | ast.Name()):
            return None  # `reasons.X`, `reasons.MUTED_FOR[why]`, a field such as `command.reason`
        case ast.Call(func=ast.Attribute(attr="format", value=template)):
            return _inline(template, assigned, seen)
        case ast.IfExp(body=body, orelse=orelse):
            return _inline(body, assigned, seen) or _inline(orelse, assigned, seen)
        case _:
            return node


def inline_reasons(paths: list[Path]) -> list[str]:
    """`file:line: code` for each reason that is not built from a template."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in paths}
    positions = _reason_positions([*trees.values(), ast.parse(AUDIT.read_text())])
    found: set[tuple[str, int, str]] = set()
    for path, tree in trees.items():
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        top = _assignments(ast.Module([n for n in tree.body if isinstance(n, ast.Assign)], []))
        scopes = [(tree, top), *((f, {**top, **_assignments(f)}) for f in functions)]
        checked: set[int] = set()
        for scope, assigned in reversed(scopes):  # innermost first: a call is checked once
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call) or id(node) in checked:
                    continue
                checked.add(id(node))
                reasons = [k.value for k in node.keywords if k.arg in REASON_PARAMETERS]
                name = _call_name(node)
                reasons += [node.args[i] for i in positions.get(name, ()) if i < len(node.args)]
                for reason in reasons:
                    inline = _inline(reason, assigned, set())
                    if inline is not None:
                        found.add((path.name, inline.lineno, ast.unparse(inline)))
    return [f"{name}:{line}: {code}" for name, line, code in sorted(found)]


def test_every_audit_reason_of_the_core_is_built_from_a_template() -> None:
    paths = sorted(p for package in CORE for p in (SRC / package).rglob("*.py"))
    found = inline_reasons(paths)
    assert not found, "\n".join(found)


def test_the_scan_finds_a_reason_written_inline(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "class Gate:\n"
        "    def approve(self, group, user, reason): ...\n"
        "async def use_case(self, g, u, at, k, v, d, error, c, why):\n"
        "    AuditEvent.kicked(g, at, u, 'not verified')\n"
        "    AuditEvent.by(u, k, g, at, reason=f'{k}={v}')\n"
        "    await self.gate.approve(g, u, 'exempt')\n"
        "    reason = 'failed: ' + str(error)\n"
        "    AuditEvent.action_failed(g, at, u, reason)\n"
        "    AuditEvent(g, k, at, None, None, None, ', '.join(c))\n"
        "    AuditEvent.muted(g, at, u, c, why='spoke' if d else reasons.MUTE_DEFERRED)\n"
        "    fine = reasons.NOT_VERIFIED_AFTER.format(duration=f'{d}')\n"
        "    AuditEvent.kicked(g, at, u, fine)\n"
        "    AuditEvent.unmuted(g, at, u, reasons.VERIFIED, actor=u)\n"
        "    AuditEvent.muted(g, at, u, c, reasons.MUTED_FOR[why])\n"
        "    AuditEvent.by(u, k, g, at, reason='')\n"
        "    await self.gate.approve(g, u, why)\n"
        "    await self.gate.approve(g, u, _EXEMPT)\n"
        "_EXEMPT = 'exempt from the rules'\n"
    )
    assert inline_reasons([module]) == [
        "module.py:4: 'not verified'",
        "module.py:5: f'{k}={v}'",
        "module.py:6: 'exempt'",
        "module.py:7: 'failed: ' + str(error)",
        "module.py:9: ', '.join(c)",
        "module.py:10: 'spoke'",
        "module.py:18: 'exempt from the rules'",
    ]
