"""Random edits of real SDFs, as an editor sends them: insertions, deletions, replacements
of tags, quotes, names and whole lines. An edit is drawn as a plan (what kind, where as a
fraction, how much) and made concrete against the text it applies to, so a sequence of
plans always applies, and a failing sequence shrinks.

Also: the corpus files the properties start from, LSP positions computed independently of
the package, and the ways diagnostics are compared."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hypothesis import strategies as st

from ..conftest import SHARED

# -- budgets ---------------------------------------------------------------------------------
#: SDF_LSP_ROBUSTNESS_EDITS=50000 runs the long setting; the default is what CI runs.
LONG = int(os.environ.get("SDF_LSP_ROBUSTNESS_EDITS", "0"))
IN_PROCESS_EDITS = LONG or 5_000
LSP_EDITS = LONG or 2_000
#: the long LSP run may also be bounded in time (seconds), e.g. SDF_LSP_ROBUSTNESS_SECONDS=600
LSP_SECONDS = float(os.environ.get("SDF_LSP_ROBUSTNESS_SECONDS", "0")) or None


# -- the corpus --------------------------------------------------------------------------------
def corpus(max_size: int = 80_000) -> list[Path]:
    """Small and mid-size SDFs: the Microkit examples, the real-world corpus (broken files
    included) and the smaller generated systems."""
    found = []
    for folder in ("corpus/microkit-examples", "corpus/real", "corpus/generated"):
        for p in sorted((SHARED / folder).rglob("*")):
            if not p.is_file() or p.stat().st_size > max_size or "targets" in p.parts or "dtb" in p.parts:
                continue
            if p.suffix in (".md", ".tsv", ".json", ".bin"):
                continue
            found.append(p)
    return found


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


# -- edits ---------------------------------------------------------------------------------------
SNIPPETS = [
    "<",
    ">",
    "/>",
    "/",
    '"',
    "'",
    "=",
    "&",
    "&amp;",
    "&#x41;",
    "&bogus;",
    " ",
    "\n",
    "\r\n",
    "\t",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?pi x?>",
    "<!DOCTYPE system>",
    "<system>",
    "</system>",
    "<protection_domain>",
    "</protection_domain>",
    '<protection_domain name="new" priority="1">',
    '<program_image path="new.elf" />',
    '<memory_region name="new_mr" size="0x1000" />',
    '<map mr="new_mr" vaddr="0x2000000" perms="rw" />',
    '<channel><end pd="new" id="1" /><end pd="new" id="2" /></channel>',
    '<domains><domain name="d" /><schedule><entry domain="d" length="1" /></schedule></domains>',
    '<irq irq="33" id="3" />',
    'name="x"',
    'id="99"',
    "0x1000",
    "é",
    "\U0001f600",  # outside the BMP: two UTF-16 code units
    "\x00",
]
VALUES = ["", "x", "a", "0", "0x1000", "0x200000", "rw", "r", "1", "-1", "999999999999999999999", "true"]
KINDS = ["insert", "delete", "tag", "quote", "name", "line", "replace", "truncate"]
_TAG = re.compile(r"<[^<>]*>?")
_VALUE = re.compile(r"\"([^\"<]*)\"|'([^'<]*)'")
_NOT_SURROGATE = st.characters(codec="utf-8")

plan = st.tuples(
    st.sampled_from(KINDS),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 200),
    st.integers(0, 1_000_000),
    st.text(_NOT_SURROGATE, max_size=8),
    st.booleans(),  # near the end: where a file being written (and left open) is typed into
)
#: one didChange: one or a few changes, each applied to the text the previous one left
notification = st.lists(plan, min_size=1, max_size=3)


def _index(where: float, n: int) -> int:
    return min(n - 1, int(where * n))


def concrete(text: str, p) -> tuple[int, int, str]:
    """The change (start, end, new text) a plan makes to `text`."""
    kind, where, length, pick, free, near_end = p
    if near_end:
        where = 0.85 + 0.15 * where
    n = len(text)
    at = _index(where, n + 1)
    if kind == "insert":
        return at, at, SNIPPETS[pick % len(SNIPPETS)]
    if kind == "delete":
        return at, min(n, at + length), ""
    if kind == "truncate":  # a file cut short (a paste over the end, a partial save): the root is left open
        return at, n, ""
    if kind == "replace":
        return at, min(n, at + length % 12), free
    if kind == "tag":
        tags = list(_TAG.finditer(text))
        if not tags:
            return at, at, "<"
        m = tags[_index(where, len(tags))]
        other = tags[pick % len(tags)].group(0)
        new = ["", other, m.group(0) * 2, m.group(0)[:-1], SNIPPETS[pick % len(SNIPPETS)]][length % 5]
        return m.start(), m.end(), new
    if kind == "quote":
        quotes = [i for i, c in enumerate(text) if c in "\"'"]
        if not quotes:
            return at, at, '"'
        q = quotes[_index(where, len(quotes))]
        return q, q + 1, ["", "'", '"', '""', '"x', "x"][length % 6]
    if kind == "name":
        values = list(_VALUE.finditer(text))
        if not values:
            return at, at, 'name="x"'
        m = values[_index(where, len(values))]
        group = 1 if m.group(1) is not None else 2
        other = values[pick % len(values)]
        new = (
            (other.group(1) if other.group(1) is not None else other.group(2))
            if length % 3
            else VALUES[pick % len(VALUES)]
        )
        return m.start(group), m.end(group), new
    # whole lines
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    i = _index(where, len(starts))
    s = starts[i]
    e = starts[i + 1] if i + 1 < len(starts) else n
    line = text[s:e]
    action = length % 4
    if action == 0:
        return s, e, ""  # delete the line
    if action == 1:
        return s, s, line if line.endswith(("\n", "\r")) else line + "\n"  # duplicate it
    if action == 2:  # swap with the next line
        e2 = starts[i + 2] if i + 2 < len(starts) else n
        nxt = text[e:e2]
        if not line.endswith(("\n", "\r")) or not nxt:
            return s, s, "\n"
        return s, e2, nxt + line if nxt.endswith(("\n", "\r")) else nxt + "\n" + line.rstrip("\r\n")
    return s, s, free + "\n"


def apply(text: str, change: tuple[int, int, str]) -> str:
    start, end, new = change
    return text[:start] + new + text[end:]


def representable(text: str, change: tuple[int, int, str]) -> tuple[int, int, str]:
    """LSP positions cannot point between the two characters of a CRLF: move such an
    end to before the CR."""
    start, end, new = change

    def fix(offset: int) -> int:
        return offset - 1 if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n" else offset

    return fix(start), max(fix(start), fix(end)), new


# -- LSP positions (independent of sdf_lsp.syntax.lines) ---------------------------------------------
_BREAK = re.compile(r"\r\n|\r|\n")


def lsp_position(text: str, offset: int) -> dict:
    """{line, character} of an offset: lines split at CRLF, CR and LF; characters in UTF-16 units."""
    line, start = 0, 0
    for m in _BREAK.finditer(text, 0, offset):
        if m.end() > offset:
            break
        line, start = line + 1, m.end()
    return {"line": line, "character": len(text[start:offset].encode("utf-16-le")) // 2}


# -- comparing diagnostics -------------------------------------------------------------------
SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}


def _rng(r) -> tuple:
    return (r["start"]["line"], r["start"]["character"], r["end"]["line"], r["end"]["character"])


def from_lsp(diagnostics: list[dict]) -> list[tuple]:
    """Published diagnostics (as JSON) in the shape `check --format json` prints, in their order."""
    return list(
        (
            _rng(d["range"]),
            SEVERITY[d["severity"]],
            d["code"],
            d["message"],
            tuple((_rng(r["location"]["range"]), r["message"]) for r in d.get("relatedInformation") or ()),
        )
        for d in diagnostics
    )


def from_check(diagnostics: list[dict]) -> list[tuple]:
    return list(
        (
            _rng(d["range"]),
            d["severity"],
            d["code"],
            d["message"],
            tuple((_rng(r["range"]), r["message"]) for r in d.get("related") or ()),
        )
        for d in diagnostics
    )


def from_analysis(diagnostics) -> list[tuple]:
    """Everything an in-process diagnostic carries, with absolute offsets, in their order."""
    return list(
        (
            d.span.start,
            d.span.end,
            d.severity,
            d.code,
            d.message,
            tuple(
                (r.span.start if r.span else None, r.span.end if r.span else None, r.message, r.uri) for r in d.related
            ),
            d.tags,
            repr(d.data),
        )
        for d in diagnostics
    )
