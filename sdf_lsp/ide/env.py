"""What editor features may read from disk: files on the search paths and program images.

The analysis core never reads files; features that show file names or ELF symbols go
through an `Environment`, which caches ELF files by modification time.
"""

from __future__ import annotations

import os

from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.files import find_on_paths


class Environment:
    def __init__(self, search_paths: list[str] | None = None):
        self.search_paths = list(search_paths or [])
        self._elves: dict[str, tuple[float, ElfImage | None, str | None]] = {}

    def find(self, path: str) -> str | None:
        return find_on_paths(path, self.search_paths)

    def elf(self, path: str) -> tuple[ElfImage | None, str | None]:
        """(image, problem) for a program image named in the SDF."""
        full = self.find(path)
        if full is None:
            return None, f"'{path}' is not on the search paths ({', '.join(self.search_paths) or 'none'})"
        try:
            mtime = os.path.getmtime(full)
        except OSError as err:
            return None, str(err)
        hit = self._elves.get(full)
        if hit is not None and hit[0] == mtime:
            return hit[1], hit[2]
        try:
            img, problem = ElfImage.load(full), None
        except (ElfError, OSError) as err:
            img, problem = None, f"cannot read '{full}': {err}"
        self._elves[full] = (mtime, img, problem)
        return img, problem

    def list_files(self, prefix: str, suffixes: tuple[str, ...] = ()) -> list[str]:
        """Relative paths under the search paths that complete `prefix` (one directory level)."""
        head, _, _ = prefix.rpartition("/")
        seen: set[str] = set()
        out = []
        for base in self.search_paths:
            d = os.path.join(base, head) if head else base
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if e.name.startswith("."):
                    continue
                rel = f"{head}/{e.name}" if head else e.name
                is_dir = e.is_dir()
                if not is_dir and suffixes and not e.name.endswith(suffixes):
                    continue
                rel = rel + "/" if is_dir else rel
                if rel not in seen:
                    seen.add(rel)
                    out.append(rel)
        return out
