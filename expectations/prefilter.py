"""Which texts may match a regular expression, found by RE2 (pyarrow's regex kernels) instead of
Python's ``re``: a prefilter, so that ``re`` runs only on the texts it lets through.

The text checks search every article's text for each of their patterns (cookie lines, newsletter
prompts, ...). Python's ``re`` scans a text about 50 times slower than RE2 does (500 article
texts: 45 ms against 0.9 ms for the six boilerplate patterns), and almost no text matches. But
the checks must give Python's answers exactly (GX computes them with ``re``, and
tests/expectations/test_engine_equivalence.py compares), so RE2 only narrows where ``re`` looks:

- the pattern is *widened* first: its zero-width assertions (``\\b``, ``\\B``, ``^``, ``$``,
  ``\\A``, ``\\Z``) are dropped, since RE2's word boundary is ASCII-only and its ``$`` does not
  match before a final newline; dropping an assertion can only add matches;
- only patterns whose meaning is the same in both engines are widened: ASCII patterns without
  ``\\w \\d \\s`` (Unicode classes in ``re``, ASCII in RE2), without ``{,n}`` (a repeat in ``re``,
  literal text in RE2), with no flags but i, m and s; anything RE2 cannot compile (lookarounds,
  back-references) is left to ``re`` alone (``widened`` returns None);
- case-insensitive, ``re`` also folds the Turkish dotted and dotless i (U+0130, U+0131) onto
  ASCII i, and RE2 does not: a text holding either is always let through. That is the only
  difference for ASCII patterns (tests/expectations/test_prefilter.py compares both engines on
  every code point).

So a text RE2 does not let through cannot match under ``re``: the texts it lets through are
searched with ``re`` as before, and the answer is ``re``'s.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_ASSERTION_ESCAPES = frozenset("bBAZ")
_UNICODE_CLASSES = frozenset("wWdDsS")
_ESCAPES_RE2_LACKS = frozenset("NuU")  # \N{name}, \uXXXX, \UXXXXXXXX
_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}
_ALLOWED_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE
# Characters that ``re`` folds onto an ASCII letter and RE2 does not (see the module docstring).
ALWAYS_THROUGH = "[\u0130\u0131]"


def widened(pattern: str | re.Pattern[str]) -> str | None:
    """RE2 syntax for ``pattern`` with its assertions dropped, or None when the two engines may
    read it differently (then every text must be searched with ``re``)."""
    if isinstance(pattern, re.Pattern):
        return _widened(pattern.pattern, pattern.flags)
    return _widened(pattern, 0)


@lru_cache(maxsize=256)
def _widened(source: str, flags: int) -> str | None:
    if not source.isascii() or flags & ~_ALLOWED_FLAGS:
        return None
    try:
        with warnings.catch_warnings():  # "possible nested set": refused below anyway
            warnings.simplefilter("ignore", FutureWarning)
            compiled = re.compile(source, flags)
    except re.error:
        return None
    if compiled.flags & ~_ALLOWED_FLAGS:  # inline (?x), (?a), (?L)
        return None
    body = _without_assertions(source)
    if body is None:
        return None
    prefix = "".join(letter for flag, letter in _FLAGS.items() if flags & flag)
    text = (f"(?{prefix})" if prefix else "") + body
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        pc.match_substring_regex(pa.array([""]), text)
    except Exception:  # RE2 rejects it (lookaround, back-reference, ...)
        return None
    return text


def _without_assertions(source: str) -> str | None:
    """The pattern with its zero-width assertions removed, or None for a construct the engines
    read differently. Character classes are copied as they are (``^`` and ``\\b`` mean other
    things there)."""
    out: list[str] = []
    i, n = 0, len(source)
    in_class = False
    class_start = -1
    while i < n:
        c = source[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            nxt = source[i + 1]
            if nxt in _UNICODE_CLASSES or nxt in _ESCAPES_RE2_LACKS or nxt.isdigit():
                return None  # other classes, escapes RE2 lacks, back-references and octals
            if not in_class and nxt in _ASSERTION_ESCAPES:
                i += 2
                continue
            out.append(source[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "[":  # [:alpha:] is a POSIX class in RE2, three members and a ']' in re
                return None
            # a ']' right after '[' or '[^' is a literal member
            if c == "]" and i > class_start:
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = i + 2 if source.startswith("[^", i) else i + 1
            out.append(source[i:class_start])
            i = class_start
            continue
        if c in "^$":
            i += 1
            continue
        if c == "{" and source.startswith("{,", i):
            return None
        if c == "(" and source.startswith("(?", i) and not _group_ok(source, i + 2):
            return None
        out.append(c)
        i += 1
    return "".join(out)


def _group_ok(source: str, start: int) -> bool:
    """Whether the ``(?...`` construct at ``start`` is one RE2 reads as ``re`` does or refuses:
    a group of the flags i, m, s (global or scoped) or a non-flag construct."""
    j = start
    while j < len(source) and (source[j].isalpha() or source[j] == "-"):
        j += 1
    letters = source[start:j]
    if not letters or letters == "P":  # (?:, (?=, (?<=, (?P<name>...: RE2 reads or rejects them
        return True
    return set(letters) <= set("ims-") and j < len(source) and source[j] in ":)"


def may_match(texts: Sequence[str], patterns: str | re.Pattern[str]
              | Sequence[str | re.Pattern[str]]) -> list[bool] | None:
    """Per text: False when it cannot match any of ``patterns`` under ``re``, True when it may
    (search it with ``re``); None when one of them is not a pattern RE2 can stand in for."""
    listed = [patterns] if isinstance(patterns, str | re.Pattern) else list(patterns)
    rules = [widened(p) for p in listed]
    if any(rule is None for rule in rules):
        return None
    if not texts or not rules:
        return [False] * len(texts)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values: Any = pa.array(texts, pa.large_string())
    except (pa.ArrowException, UnicodeError):  # a lone surrogate has no UTF-8: leave it to re
        return None
    # one RE2 pass for all the patterns (each already widened, so the union is too)
    union = "|".join(f"(?:{rule})" for rule in rules if rule is not None)
    hits = pc.match_substring_regex(values, union)
    if any(_ignores_case(p) for p in listed):
        hits = pc.or_(hits, pc.match_substring_regex(values, ALWAYS_THROUGH))
    return [bool(h) for h in hits.fill_null(True).to_pylist()]


def _ignores_case(pattern: str | re.Pattern[str]) -> bool:
    compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
    # a scoped (?i:...) sets no global flag: any 'i' flag group counts
    return bool(compiled.flags & re.IGNORECASE) or bool(re.search(r"\(\?[a-z]*i", compiled.pattern))
