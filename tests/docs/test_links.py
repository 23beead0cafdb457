"""Docs cannot point at files that are gone: every relative link in the repository's Markdown resolves.

Unit tests of a small link checker, then the checker run over the repository:

- every ``[text](relative/path#anchor)``, ``![image](path)``, reference definition ``[x]: path`` and
  HTML ``href``/``src`` in every Markdown file (git-tracked or new) names an existing file or folder
  inside the repository; links in code spans and fenced blocks are text, not links;
- an ``#anchor`` into a Markdown file (or into the same file) names one of its headings, slugged as
  GitHub slugs them (``## Time to ready`` -> ``#time-to-ready``; repeats get ``-1``, ``-2``...);
- a path under docs/ named in any other tracked text file (comments in Python, YAML, shell,
  Terraform) exists.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", ".venv-checkov", ".local", "build", ".terraform", "node_modules"}

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^\s<>()]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML_REF = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*\b(?:name|id)\s*=\s*["']([^"']+)["']|\bid\s*=\s*["']([^"']+)["']""")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
DOCS_PATH = re.compile(r"(?<![\w./-])docs/[\w.-][\w./-]*")


@dataclass(frozen=True)
class Problem:
    """One link that does not resolve, with where it is written."""

    source: str
    line: int
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.target} -> {self.reason}"


def repository_files(root: Path, suffix: str | None = None) -> list[Path]:
    """Tracked and new (not ignored) files under ``root``; a plain walk where git is unavailable."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [root / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in root.rglob("*") if not SKIP_DIRS & set(p.relative_to(root).parts)]
    return sorted(p for p in paths if p.is_file() and (suffix is None or p.name.endswith(suffix)))


def _blank(text: str) -> str:
    """The same text with fenced blocks and code spans replaced by spaces (lines and columns kept)."""
    lines, fence = [], None
    for line in text.splitlines(keepends=True):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
            lines.append("\n" if line.endswith("\n") else "")
        elif fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            lines.append("\n" if line.endswith("\n") else "")
        else:
            lines.append(line)
    prose = "".join(lines)
    return CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: rendered text, lower case, punctuation gone, spaces -> '-'."""
    parts = []
    for i, part in enumerate(re.split(r"(`+[^`]*`+)", heading)):
        if i % 2:  # a code span renders its content as is
            parts.append(part.strip("`"))
            continue
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", part)  # links and images -> their text
        text = re.sub(r"<[^>]+>", "", text)  # inline HTML
        parts.append(re.sub(r"(?<!\w)_+|_+(?!\w)|[*~]", "", text))  # emphasis markers, not snake_case
    rendered = "".join(parts).strip().lower()
    return re.sub(r"[^\w\- ]", "", rendered).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a Markdown file offers: heading slugs (repeats numbered) and HTML ids/names."""
    found: set[str] = set()
    seen: Counter[str] = Counter()
    blanked = _blank(markdown).splitlines()
    for plain, line in zip(blanked, markdown.splitlines(), strict=False):
        heading = HEADING.match(plain)
        if not heading:
            continue
        raw = HEADING.match(line)
        base = slug(raw.group(2) if raw else heading.group(2))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    for match in HTML_ANCHOR.finditer(markdown):
        found.add(match.group(1) or match.group(2))
    return found


def links(markdown: str) -> list[tuple[int, str]]:
    """(line, target) of every link written in prose (not in code)."""
    prose = _blank(markdown)
    out = []
    for pattern in (INLINE_LINK, REFERENCE_DEF, HTML_REF):
        for match in pattern.finditer(prose):
            out.append((prose.count("\n", 0, match.start()) + 1, match.group(1)))
    return sorted(out)


def check_target(root: Path, source: Path, target: str, cache: dict[Path, set[str]]) -> str | None:
    """Why ``target`` written in ``source`` does not resolve, or None when it does."""
    if SCHEME.match(target):
        return None  # a URL: not ours to check offline
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if not path_part:
        resolved = source
    elif path_part.startswith("/"):
        resolved = (root / path_part.lstrip("/")).resolve()
    else:
        resolved = (source.parent / path_part).resolve()
    if not resolved.is_relative_to(root.resolve()):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file or folder"
    if anchor and resolved.is_file() and resolved.suffix == ".md":
        if resolved not in cache:
            cache[resolved] = anchors(resolved.read_text(encoding="utf-8"))
        if unquote(anchor).lower() not in cache[resolved]:
            return f"no heading with anchor #{anchor} in {resolved.relative_to(root.resolve())}"
    return None


def dead_links(root: Path, markdown_files: list[Path]) -> list[Problem]:
    """Every link in ``markdown_files`` that does not resolve inside ``root``."""
    problems, cache = [], {}
    for source in markdown_files:
        for line, target in links(source.read_text(encoding="utf-8")):
            reason = check_target(root, source.resolve(), target, cache)
            if reason:
                problems.append(Problem(str(source.relative_to(root)), line, target, reason))
    return problems


def dead_docs_paths(root: Path, files: list[Path]) -> list[Problem]:
    """Paths under docs/ named in non-Markdown text files (comments, docstrings) that do not exist."""
    problems = []
    for source in files:
        if source.suffix == ".md":
            continue
        try:
            text = source.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files name no docs
        for match in DOCS_PATH.finditer(text):
            named = match.group(0).rstrip(".")
            if not (root / named).exists():
                line = text.count("\n", 0, match.start()) + 1
                problems.append(Problem(str(source.relative_to(root)), line, named, "no such file or folder"))
    return problems


# --------------------------------------------------------------------------- the checker itself


def test_slugs_follow_github():
    assert slug("What was exercised where, and what is left") == "what-was-exercised-where-and-what-is-left"
    assert slug("The embedded stack (`make run`)") == "the-embedded-stack-make-run"
    assert slug("`audit_stream` and _emphasis_ **bold**") == "audit_stream-and-emphasis-bold"
    assert slug("Firehose → S3") == "firehose--s3"
    assert slug("0001: [Why](x.md) ours?") == "0001-why-ours"


def test_anchors_number_repeats_and_ignore_code():
    text = '# Title\n## Setup\n```sh\n# not a heading\n```\n## Setup\n<a name="custom"></a>\n'
    assert anchors(text) == {"title", "setup", "setup-1", "custom"}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_dead_links_and_anchors_are_reported(tmp_path):
    _write(tmp_path / "guide" / "page.md", "# Page\n\n## A heading\n")
    _write(tmp_path / "src" / "module.py", "x = 1\n")
    readme = _write(
        tmp_path / "README.md",
        "# Top title\n\n"
        "[fine](guide/page.md#a-heading), [folder](src/), [file](src/module.py#L1), [self](#top-title),\n"
        "[web](https://example.com/missing.md), ![img](guide/page.md), `[code](nowhere.md)`\n\n"
        "```md\n[fenced](nowhere.md)\n```\n\n"
        "[gone](guide/missing.md) and [bad anchor](guide/page.md#no-such-heading)\n"
        "[wrapped\ntext](../outside.md)\n\n"
        "[ref]: guide/also-missing.md\n"
        '<img src="img/none.png">\n',
    )

    problems = dead_links(tmp_path, [readme])

    assert [(p.line, p.target) for p in problems] == [
        (10, "guide/missing.md"),
        (10, "guide/page.md#no-such-heading"),
        (11, "../outside.md"),
        (14, "guide/also-missing.md"),
        (15, "img/none.png"),
    ]
    assert "no heading with anchor #no-such-heading" in str(problems[1])
    assert "outside the repository" in str(problems[2])


def test_dead_docs_paths_in_code_are_reported(tmp_path):
    folder = "docs"  # paths are built here so that this file itself names none that is missing
    _write(tmp_path / folder / "page.md", "# Page\n")
    text = f'"""See {folder}/page.md.\n\nAnd {folder}/gone.md."""\n# https://x.org/{folder}/a\n'
    source = _write(tmp_path / "mod.py", text)

    problems = dead_docs_paths(tmp_path, [source])

    assert [(p.line, p.target) for p in problems] == [(3, f"{folder}/gone.md")]


def test_files_are_found_without_git(tmp_path):
    _write(tmp_path / "a.md", "# A\n")
    _write(tmp_path / ".venv" / "lib" / "b.md", "# B\n")
    assert repository_files(tmp_path, ".md") == [tmp_path / "a.md"]


# --------------------------------------------------------------------------- the repository


def test_every_markdown_link_resolves():
    markdown = repository_files(REPO, ".md")
    assert REPO / "README.md" in markdown
    problems = dead_links(REPO, markdown)
    assert not problems, "dead links:\n" + "\n".join(map(str, problems))


def test_docs_paths_named_in_code_exist():
    problems = dead_docs_paths(REPO, repository_files(REPO))
    assert not problems, "docs paths that do not exist:\n" + "\n".join(map(str, problems))
