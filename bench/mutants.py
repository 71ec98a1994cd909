"""Mutation testing of the core: does the suite notice when one line of the logic is wrong?

    python bench/mutants.py                          # every mutant of every target module
    python bench/mutants.py --sample 120 --seed 1    # a reproducible sample, spread over modules
    python bench/mutants.py --module access/throttle.py
    python bench/mutants.py --list                   # print the mutants, run nothing

A hand-written, dependency-free harness built on :mod:`ast` and :mod:`tokenize`. mutmut was
considered and does not fit: it expects a flat ``src`` it may rewrite in place and a runner
it drives itself, wants to be installed into the project's Python 3.11 virtual environment
(no extra installs there), and cannot map one module to the few tests that cover it.

Each mutant changes one token on one line of a target module:

* comparison swaps ``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``;
* arithmetic swaps ``+`` ↔ ``-``, ``*`` ↔ ``/`` (also in ``+=`` and friends);
* a number ± 1, or × 10 when it is a duration (``timedelta(minutes=5)``, ``*_MINUTES = 5``);
* ``and`` ↔ ``or``;
* one string dropped from a tuple, list or set literal of codes;
* ``return True`` ↔ ``return False``.

Annotations, decorators, ``Literal[...]`` arguments, ``__all__`` and docstrings are never
mutated. In
``store/reads.py``, ``store/frames.py`` and ``store/aggregates.py`` only the functions that
build the SQL counts are.

For each mutant the harness writes the mutated module into a temporary copy of ``src/``
(the real files are never touched), runs the tests mapped to that module (``TESTS`` below)
with ``PYTHONPATH`` pointing at the copy, ``-x -q -p no:cacheprovider``, SQLite only and a
timeout, and records *killed* (a test failed), *survived* (all passed) or *timeout* (counted
as killed: the mutant made the code hang). Before the mutants of a module run, its tests run
once unmutated: they must pass, and their time sets the timeout.

The report goes to ``bench/results/mutants.md``: per module the mutants generated, run,
killed, survived and the kill rate, then every survivor with file:line and the mutation.
``make mutants`` runs this; it is not part of CI or ``make test``.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "outcomes"
REPORT = ROOT / "bench" / "results" / "mutants.md"

# Target module (relative to src/outcomes) -> the tests that should notice a change in it.
# Kept tight: unit tests of the module and the few integration tests of its SQL, SQLite only.
TESTS: dict[str, tuple[str, ...]] = {
    "analysis/metrics.py": (
        "tests/unit/test_analysis_metrics.py",
        "tests/unit/test_publishable_metrics.py",
        "tests/integration/test_queries.py",
    ),
    "analysis/intervals.py": ("tests/unit/test_analysis_intervals.py",),
    "analysis/disclosure.py": (
        "tests/unit/test_analysis_disclosure.py",
        "tests/unit/test_analysis_publication.py",
        "tests/unit/test_publishable_metrics.py",
    ),
    "analysis/publication.py": (
        "tests/unit/test_analysis_publication.py",
        "tests/unit/test_publishable_metrics.py",
    ),
    "access/passwords.py": ("tests/unit/test_passwords.py",),
    "access/sessions.py": ("tests/unit/test_sessions.py",),
    "access/throttle.py": (
        "tests/unit/test_throttle.py",
        "tests/integration/test_auth_signin.py",
    ),
    "access/permissions.py": ("tests/unit/test_permissions.py",),
    "store/reads.py": (
        "tests/integration/test_queries.py",
        "tests/integration/test_programme_table.py",
    ),
    "store/frames.py": (
        "tests/integration/test_queries.py",
        "tests/integration/test_analysis_table.py",
    ),
    "store/aggregates.py": (
        "tests/integration/test_queries.py",
        "tests/integration/test_analysis_table.py",
    ),
}
# Only these functions of a module are mutated (the rest of the module is left alone).
ONLY_FUNCTIONS: dict[str, frozenset[str]] = {
    "store/reads.py": frozenset({"overview_counts", "programme_table"}),
    "store/frames.py": frozenset({"outcome_known"}),
    "store/aggregates.py": frozenset({"metric_counts", "_fulltime"}),
}
PYTEST_FLAGS = ("-x", "-q", "-p", "no:cacheprovider", "-k", "not postgresql")

COMPARE_SWAPS = {
    ast.Lt: "<=",
    ast.LtE: "<",
    ast.Gt: ">=",
    ast.GtE: ">",
    ast.Eq: "!=",
    ast.NotEq: "==",
}
COMPARE_TOKENS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
ARITH_SWAPS = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
DURATION_KEYWORDS = frozenset({"seconds", "minutes", "hours", "days", "weeks"})
DURATION_NAME = re.compile(
    r"(SECOND|MINUTE|HOUR|DAY|WEEK|INTERVAL|WINDOW|TIMEOUT|TTL|IDLE)S?$", re.I
)


@dataclass(frozen=True, order=True)
class Mutant:
    """One token changed on one line of a target module."""

    module: str  # relative to src/outcomes
    line: int
    col: int  # character column of the first changed character
    end_col: int  # character column after the last changed character
    replacement: str
    kind: str

    def describe(self, lines: list[str]) -> str:
        """The mutation as `before` → `after` for the report."""
        text = lines[self.line - 1]
        before = text.strip()
        after = (text[: self.col] + self.replacement + text[self.end_col :]).strip()
        return f"{self.kind}: `{before}` → `{after}`"

    def apply(self, source: str) -> str:
        """The module's source with this mutation made."""
        lines = source.splitlines(keepends=True)
        text = lines[self.line - 1]
        lines[self.line - 1] = text[: self.col] + self.replacement + text[self.end_col :]
        return "".join(lines)


# --- generating mutants --------------------------------------------------------------------


class _Finder(ast.NodeVisitor):
    """Walks one module and yields the mutants it offers."""

    def __init__(self, module: str, source: str) -> None:
        self.module = module
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type in (tokenize.OP, tokenize.NAME)
        ]
        self.only = ONLY_FUNCTIONS.get(module)
        self.function_stack: list[str] = []
        self.parents: dict[int, ast.AST] = {}
        self.found: list[Mutant] = []

    # positions ---------------------------------------------------------------------------

    def _char_col(self, lineno: int, byte_col: int) -> int:
        return len(self.lines[lineno - 1].encode()[:byte_col].decode())

    def _start(self, node: ast.AST) -> tuple[int, int]:
        return node.lineno, self._char_col(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def _end(self, node: ast.AST) -> tuple[int, int]:
        return node.end_lineno, self._char_col(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def _token_between(
        self, start: tuple[int, int], end: tuple[int, int], text: str
    ) -> tokenize.TokenInfo | None:
        for tok in self.tokens:
            if start <= tok.start and tok.end <= end and tok.string == text:
                return tok
        return None

    def _add(self, tok_or_node: tokenize.TokenInfo | ast.AST, replacement: str, kind: str) -> None:
        if not self._active():
            return
        if isinstance(tok_or_node, tokenize.TokenInfo):
            (line, col), (end_line, end_col) = tok_or_node.start, tok_or_node.end
        else:
            (line, col), (end_line, end_col) = self._start(tok_or_node), self._end(tok_or_node)
        if line == end_line:
            self.found.append(Mutant(self.module, line, col, end_col, replacement, kind))

    def _active(self) -> bool:
        return self.only is None or bool(set(self.function_stack) & self.only)

    # traversal ---------------------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self.parents[id(child)] = node
        super().visit(node)

    def _skip_annotations(self, node: ast.AST, fields: tuple[str, ...]) -> None:
        for name, value in ast.iter_fields(node):
            if name in fields:
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    self.parents[id(child)] = node
                    self.visit(child)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.function_stack.append(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        for default in [*node.args.defaults, *[d for d in node.args.kw_defaults if d]]:
            self.visit(default)
        for statement in body:
            self.parents[id(statement)] = node
            self.visit(statement)
        self.function_stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._skip_annotations(node, ("annotation",))

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in {"Literal", "Final", "ClassVar"}:
            return
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        self.generic_visit(node)

    # mutations ---------------------------------------------------------------------------

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                tok = self._token_between(
                    self._end(operands[i]), self._start(operands[i + 1]), COMPARE_TOKENS[type(op)]
                )
                if tok:
                    self._add(tok, COMPARE_SWAPS[type(op)], "comparison")
        self.generic_visit(node)

    def _is_text(self, node: ast.AST) -> bool:
        return isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
        )

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if type(node.op) in ARITH_SWAPS and not (
            self._is_text(node.left) or self._is_text(node.right)
        ):
            old, new = ARITH_SWAPS[type(node.op)]
            tok = self._token_between(self._end(node.left), self._start(node.right), old)
            if tok:
                self._add(tok, new, "arithmetic")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if type(node.op) in ARITH_SWAPS and not self._is_text(node.value):
            old, new = ARITH_SWAPS[type(node.op)]
            tok = self._token_between(self._end(node.target), self._start(node.value), old + "=")
            if tok:
                self._add(tok, new + "=", "arithmetic")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in zip(node.values, node.values[1:], strict=False):
            tok = self._token_between(self._end(left), self._start(right), old)
            if tok:
                self._add(tok, new, "boolean")
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, bool):
            self._add(node.value, str(not node.value.value), "return")
            return
        self.generic_visit(node)

    def _is_duration(self, node: ast.Constant) -> bool:
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword) and parent.arg in DURATION_KEYWORDS:
            return True
        if isinstance(parent, ast.Assign):
            return any(
                isinstance(t, ast.Name) and DURATION_NAME.search(t.id) for t in parent.targets
            )
        return False

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if self._is_duration(node):
            self._add(node, repr(value * 10), "duration × 10")
            return
        for changed in (value + 1, value - 1):
            if isinstance(value, float):
                changed = round(changed, 12)
            self._add(node, repr(changed), "number ± 1")

    def _codes(self, node: ast.Tuple | ast.List | ast.Set) -> None:
        elements = node.elts
        if len(elements) >= 2 and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in elements
        ):
            for i in range(len(elements)):
                self._drop(node, i)
            return
        self.generic_visit(node)

    visit_Tuple = _codes
    visit_List = _codes
    visit_Set = _codes

    def _drop(self, node: ast.Tuple | ast.List | ast.Set, i: int) -> None:
        """Drop element i and the comma after it (or before it, for the last one)."""
        element = node.elts[i]
        start, end = self._start(element), self._end(element)
        if start[0] != end[0]:
            return
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            # ("a", "b") -> ("b",): keep it a tuple, never a bare string.
            first, last = self._start(node.elts[0]), self._end(node.elts[1])
            kept = ast.get_source_segment(self.source, node.elts[1 - i])
            if first[0] == last[0] and kept is not None:
                self._add_span(first[0], first[1], last[1], kept + ",", "code dropped")
            return
        after = self._token_between(end, self._end(node), ",")
        if after and after.start[0] == start[0]:
            stop = after.end[1]
            text = self.lines[start[0] - 1]
            while stop < len(text) and text[stop] == " ":
                stop += 1
            self._add_span(start[0], start[1], stop, "", "code dropped")
            return
        before = self._token_between(self._end(node.elts[i - 1]), start, ",") if i else None
        if before and before.start[0] == start[0]:
            self._add_span(start[0], before.start[1], end[1], "", "code dropped")

    def _add_span(self, line: int, col: int, end_col: int, replacement: str, kind: str) -> None:
        if self._active():
            self.found.append(Mutant(self.module, line, col, end_col, replacement, kind))


def mutants_of(module: str) -> list[Mutant]:
    """Every mutant of one target module, sorted by position."""
    source = (PACKAGE / module).read_text()
    finder = _Finder(module, source)
    finder.visit(ast.parse(source))
    unique = sorted(set(finder.found))
    # A mutant must still compile (a dropped code can leave a one-element tuple: that is fine).
    return [m for m in unique if _compiles(m.apply(source))]


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


def sample(mutants: dict[str, list[Mutant]], n: int, seed: int) -> dict[str, list[Mutant]]:
    """A reproducible sample of n mutants, spread evenly over the modules (round-robin)."""
    rng = random.Random(seed)
    shuffled = {m: rng.sample(ms, len(ms)) for m, ms in sorted(mutants.items())}
    taken: dict[str, list[Mutant]] = {m: [] for m in shuffled}
    while n > 0 and any(shuffled.values()):
        for module, pool in shuffled.items():
            if n and pool:
                taken[module].append(pool.pop())
                n -= 1
    return {m: sorted(ms) for m, ms in taken.items()}


# --- running -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    mutant: Mutant
    status: str  # killed | survived | timeout
    seconds: float


class Sandbox:
    """A private copy of src/ the mutants are written into."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="outcomes-mutants-"))
        self.src = self.dir / "src"
        # The code finds its data (seed/, surveys/) beside src/: link those in, read-only use.
        for entry in ROOT.iterdir():
            if entry.name not in {"src", ".git", ".venv", "var"}:
                (self.dir / entry.name).symlink_to(entry)
        shutil.copytree(
            ROOT / "src", self.src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
        # Byte-compile the unmutated copy once; mutated modules are never cached (see run).
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(self.src)],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def run(self, module: str, source: str, timeout: float) -> tuple[str, float]:
        target = self.src / "outcomes" / module
        original = target.read_text()
        for cached in (target.parent / "__pycache__").glob(target.stem + ".*.pyc"):
            cached.unlink()  # a same-size mutant written in the same second would reuse it
        target.write_text(source)
        try:
            return run_tests(TESTS[module], self.src, timeout)
        finally:
            target.write_text(original)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def run_tests(tests: tuple[str, ...], src: Path, timeout: float) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "OUTCOMES_TEST_DATABASE_URL"}
    env["PYTHONPATH"] = str(src)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *PYTEST_FLAGS, *tests],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return "timeout", time.monotonic() - started
    seconds = time.monotonic() - started
    if code == 0:
        return "survived", seconds
    if code == 5:  # no tests collected: the mapping is wrong, not the mutant caught
        raise SystemExit(f"no tests collected for {tests}")
    return "killed", seconds


def run_all(chosen: dict[str, list[Mutant]], jobs: int) -> tuple[list[Result], dict[str, float]]:
    sandboxes = [Sandbox() for _ in range(jobs)]
    free = list(sandboxes)
    lock = threading.Lock()
    baselines: dict[str, float] = {}
    results: list[Result] = []
    try:
        for module, ms in chosen.items():
            if not ms:
                continue
            status, seconds = run_tests(TESTS[module], sandboxes[0].src, timeout=900)
            if status != "survived":
                raise SystemExit(f"the tests for {module} do not pass unmutated ({status})")
            baselines[module] = seconds
            print(
                f"{module}: tests pass unmutated in {seconds:.1f} s; {len(ms)} mutants", flush=True
            )
        sources = {m: (PACKAGE / m).read_text() for m in chosen}
        queue = [m for module in chosen for m in chosen[module]]
        total = len(queue)

        def one(mutant: Mutant) -> Result:
            with lock:
                box = free.pop()
            try:
                timeout = 3 * baselines[mutant.module] + 15
                status, seconds = box.run(
                    mutant.module, mutant.apply(sources[mutant.module]), timeout
                )
            finally:
                with lock:
                    free.append(box)
            result = Result(mutant, status, seconds)
            with lock:
                results.append(result)
                print(
                    f"[{len(results)}/{total}] {status:8} {seconds:5.1f} s  "
                    f"{mutant.module}:{mutant.line} {mutant.kind}",
                    flush=True,
                )
            return result

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, queue))
    finally:
        for box in sandboxes:
            box.close()
    return sorted(results, key=lambda r: r.mutant), baselines


# --- the report ----------------------------------------------------------------------------


def report(
    generated: dict[str, list[Mutant]],
    results: list[Result],
    args: argparse.Namespace,
    elapsed: float,
) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    chosen = (
        "every mutant" if args.sample is None else f"a sample of {args.sample} (seed {args.seed})"
    )
    out = [
        "# Mutation testing",
        "",
        f"`python bench/mutants.py{_argv(args)}` on commit `{commit}`, "
        f"{dt.date.today().isoformat()}: {chosen}, {args.jobs} job(s), {elapsed / 60:.1f} min. "
        "A timeout counts as killed. SQLite only.",
        "",
        "| module | mutants | run | killed | timeout | survived | kill rate |",
        "|---|---|---|---|---|---|---|",
    ]
    totals = [0, 0, 0, 0, 0]
    for module in sorted(generated):
        rs = [r for r in results if r.mutant.module == module]
        killed = sum(r.status == "killed" for r in rs)
        timeout = sum(r.status == "timeout" for r in rs)
        survived = sum(r.status == "survived" for r in rs)
        row = [len(generated[module]), len(rs), killed, timeout, survived]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        out.append(f"| `{module}` | " + " | ".join(map(str, row)) + f" | {_rate(rs)} |")
    out.append("| **all** | " + " | ".join(map(str, totals)) + f" | {_rate(results)} |")
    out += ["", "## Survivors", ""]
    survivors = [r for r in results if r.status == "survived"]
    if not survivors:
        out.append("None.")
    sources = {m: (PACKAGE / m).read_text().splitlines() for m in generated}
    for r in survivors:
        m = r.mutant
        out.append(f"- `src/outcomes/{m.module}:{m.line}` {m.describe(sources[m.module])}")
    return "\n".join(out) + "\n"


def _rate(results: list[Result]) -> str:
    if not results:
        return "—"
    caught = sum(r.status != "survived" for r in results)
    return f"{100 * caught / len(results):.0f} %"


def _argv(args: argparse.Namespace) -> str:
    parts = []
    if args.module:
        parts += [f"--module {m}" for m in args.module]
    if args.sample is not None:
        parts.append(f"--sample {args.sample} --seed {args.seed}")
    if args.jobs != 1:
        parts.append(f"--jobs {args.jobs}")
    return "".join(" " + p for p in parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(TESTS), help="only this module")
    parser.add_argument("--sample", type=int, help="run a reproducible sample of this many mutants")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--output", type=Path, default=REPORT, help="where the report goes")
    args = parser.parse_args(argv)

    modules = args.module or sorted(TESTS)
    generated = {m: mutants_of(m) for m in modules}
    chosen = generated if args.sample is None else sample(generated, args.sample, args.seed)
    if args.list:
        for module, ms in chosen.items():
            lines = (PACKAGE / module).read_text().splitlines()
            for m in ms:
                print(f"src/outcomes/{module}:{m.line} {m.describe(lines)}")
        return 0
    started = time.monotonic()
    results, _ = run_all(chosen, args.jobs)
    text = report(generated, results, args, time.monotonic() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
