"""docs/math.md and the code agree: its examples run, its links resolve, its code quotes exist.

Conventions the page follows (and these tests enforce):

- A ```python block that starts with `>>>` is a doctest, run against the installed nnfun.
- "`name` in [nnfun/file.py](../nnfun/file.py)" (or "`a`, `b` and `c` in [...](...)") claims the
  functions are defined in that file.
- Every other ```python block quotes code. The paragraph right before it ends with a colon and
  names its functions with such claims; every quoted line must occur in one of them.
- The prose numbers of the worked softmax cross-entropy example (six decimals) must appear in the
  doctest that follows the `<!-- worked-example ... -->` marker, so prose, doctest and code agree.
"""

from __future__ import annotations

import ast
import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "math.md"
TEXT = DOC.read_text(encoding="utf-8")

FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NAMES = r"((?:`\w+`(?:, | and ))*`\w+`)"
CLAIM = re.compile(NAMES + r" in \[[^\]]*\]\(([^)\s]+)\)")
WORKED = "<!-- worked-example"


def line_of(offset: int) -> int:
    """1-based line number in docs/math.md of a character offset."""
    return TEXT.count("\n", 0, offset) + 1


def python_blocks() -> list[tuple[int, int, str]]:
    """Every ```python block as (start offset, end offset, body)."""
    return [
        (m.start(), m.end(), m.group(2)) for m in FENCE.finditer(TEXT) if m.group(1) == "python"
    ]


def doctest_blocks() -> list[tuple[int, str]]:
    return [(start, body) for start, _, body in python_blocks() if body.lstrip().startswith(">>>")]


def claims(text: str | None = None, base: int = 0) -> list[tuple[int, list[str], str]]:
    """Each claim in `text` (the whole page by default) as (offset, function names, link target)."""
    return [
        (base + m.start(), re.findall(r"`(\w+)`", m.group(1)), m.group(2))
        for m in CLAIM.finditer(TEXT if text is None else text)
    ]


def quotes() -> list[tuple[int, list[tuple[str, str]], str]]:
    """Each code quote as (offset, [(function, link target)] from the paragraph before, block)."""
    found = []
    for start, _, body in python_blocks():
        if body.lstrip().startswith(">>>"):
            continue
        before = TEXT[:start].rstrip()
        base = before.rfind("\n\n") + 2
        paragraph = before[base:]
        named = [(n, t) for _, names, t in claims(paragraph, base) for n in names]
        assert paragraph.endswith(":") and named, (
            f"math.md:{line_of(start)}: the paragraph before a code quote must end with ':' "
            "and name its functions as `name` in [file](link)"
        )
        found.append((start, named, body))
    return found


def resolve(target: str) -> Path:
    return (DOC.parent / target.split("#", 1)[0]).resolve()


def function_sources(path: Path) -> dict[str, str]:
    """The source text of every function defined in a Python file, nested ones included."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.parametrize(
    "offset, body", doctest_blocks(), ids=[f"line {line_of(o)}" for o, _ in doctest_blocks()]
)
def test_doctest_block_runs(offset: int, body: str) -> None:
    test = doctest.DocTestParser().get_doctest(
        body, {}, f"math.md:{line_of(offset)}", str(DOC), line_of(offset)
    )
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    failed, attempted = runner.run(test, out=report.append, clear_globs=True)
    assert attempted > 0
    assert failed == 0, "".join(report)


def test_worked_softmax_cross_entropy_example_matches_its_doctest() -> None:
    """The hand-written numbers of the worked example are the ones nnfun prints."""
    marker = TEXT.index(WORKED)
    heading = TEXT.rindex("\n### ", 0, marker)
    prose = TEXT[heading:marker]
    block = next(body for start, body in doctest_blocks() if start > marker)
    assert "softmax_cross_entropy(" in block
    numbers = re.findall(r"-?\d+\.\d{6}\b", prose)
    assert len(numbers) >= 10, numbers
    outputs = "\n".join(line for line in block.splitlines() if not line.startswith((">>>", "...")))
    missing = [x for x in numbers if not re.search(rf"(?<![\d.]){re.escape(x)}(?!\d)", outputs)]
    assert not missing, f"numbers in the prose but not in the doctest output: {missing}"


def test_every_relative_link_points_to_an_existing_file() -> None:
    targets = [t for t in LINK.findall(TEXT) if not re.match(r"[a-z]+:|#", t)]
    assert targets
    broken = [t for t in targets if not resolve(t).is_file()]
    assert not broken, f"links to missing files: {broken}"
    outside = [t for t in targets if not resolve(t).is_relative_to(ROOT)]
    assert not outside, f"links that leave the repository: {outside}"


def test_every_function_claimed_in_a_linked_file_is_defined_there() -> None:
    assert claims()
    problems = []
    for offset, names, target in claims():
        path = resolve(target)
        if path.suffix != ".py" or not path.is_file():
            problems.append(f"math.md:{line_of(offset)}: {target} is not a Python file")
            continue
        defined = function_sources(path)
        problems += [
            f"math.md:{line_of(offset)}: no function {name} in {target}"
            for name in names
            if name not in defined
        ]
    assert not problems, "\n".join(problems)


def test_every_quoted_line_occurs_in_the_named_functions() -> None:
    assert quotes(), "math.md lost its quoted code"
    problems = []
    for offset, named, block in quotes():
        source = "\n".join(function_sources(resolve(t)).get(name, "") for name, t in named)
        where = ", ".join(f"{name} ({t})" for name, t in named)
        problems += [
            f"math.md:{line_of(offset)}: {line.strip()!r} is not in {where}"
            for line in block.splitlines()
            if line.strip() and line.strip() not in source
        ]
    assert not problems, "\n".join(problems)


def test_api_page_lists_every_public_name_and_nothing_else() -> None:
    import nnfun
    import nnfun.io

    text = (ROOT / "docs" / "api.md").read_text()
    listed = set(re.findall(r"^- `(?:nnfun\.io\.)?(\w+)`", text, re.MULTILINE))
    listed_io = set(re.findall(r"^- `nnfun\.io\.(\w+)`", text, re.MULTILINE))
    assert set(nnfun.__all__) <= listed, set(nnfun.__all__) - listed
    assert set(nnfun.io.__all__) == listed_io
