"""What editor features may read from disk: files on the search paths and program images.

The analysis core never reads files; features that show file names or ELF symbols go
through an `Environment`: the document's `SearchPathFiles` (the same object the analysis
reads through, so a program image is parsed once for both), with what features need on top.
"""

from __future__ import annotations

import os

from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.files import SearchPathFiles, UnreadableImage


class Environment(SearchPathFiles):
    def elf(self, path: str) -> tuple[ElfImage | None, str | None]:
        """(image, problem) for a program image named in the SDF."""
        full = self.find(path)
        if full is None:
            return None, f"'{path}' is not on the search paths ({', '.join(self.search_paths) or 'none'})"
        try:
            return self.images.load(full), None
        except UnreadableImage as err:
            return None, str(err)
        except ElfError as err:
            return None, f"cannot read '{full}': {err}"

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
