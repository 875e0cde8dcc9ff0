"""Results one analysis of a document leaves for the next one.

A result belongs to a lowered object (cached with its syntax block, so the same object means the
same element) and is valid while a key of everything else it read is equal. An analysis keeps
the entries it used; the others are dropped when it finishes, so the memo holds one analysis'
worth of results and no object outlives its document version by more than one analysis.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Memo:
    def __init__(self) -> None:
        self._old: dict[tuple[str, object], tuple[Any, Any]] = {}
        self._new: dict[tuple[str, object], tuple[Any, Any]] = {}
        self._versions: dict[str, tuple[Any, int]] = {}

    def get(self, what: str, owner: object, key: Any) -> Any:
        """The result stored for (`what`, `owner`) under an equal `key`, else `Memo.MISSING`."""
        k = (what, owner)
        hit = self._new.get(k)
        if hit is None:
            hit = self._old.get(k)
        if hit is None or hit[0] != key:
            return _MISSING
        self._new[k] = hit
        return hit[1]

    def put(self, what: str, owner: object, key: Any, value: Any) -> Any:
        self._new[(what, owner)] = (key, value)
        return value

    def version(self, what: str, value: Any) -> int:
        """A number that changes exactly when `value` differs from the previous analysis' value
        (one comparison per analysis instead of one per memo lookup)."""
        prev = self._versions.get(what)
        if prev is not None and prev[0] == value:
            return prev[1]
        number = prev[1] + 1 if prev is not None else 0
        self._versions[what] = (value, number)
        return number

    def finish(self) -> None:
        """End of an analysis: forget what it did not use."""
        self._old = self._new
        self._new = {}

    MISSING = _MISSING
