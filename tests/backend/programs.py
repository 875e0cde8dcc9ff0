"""Real program images for builds: the project's own C programs (`tests/fixtures/programs/`), compiled.

`Programs` compiles, for one architecture, one ELF per `program_image` of an
analysed system, each defining the Microkit symbols and every setvar symbol
the SDF names (the union over the system), plus the monitor and the capDL
initialiser stand-ins.  Compiled files are kept in a cache directory keyed by
architecture, image and symbol list, so each program set is compiled once.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import ROOT, require

SOURCES = ROOT / "tests" / "fixtures" / "programs"
COMPILERS = {"aarch64": "aarch64-linux-gnu-gcc", "riscv64": "riscv64-linux-gnu-gcc", "x86_64": "gcc"}
CFLAGS = (
    "-O1",
    "-ffreestanding",
    "-fno-pic",
    "-fno-common",
    "-nostdlib",
    "-static",
    "-Wl,--build-id=none",
    "-no-pie",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-Wall",
    "-Werror",
    "-Wl,-z,max-page-size=0x1000",
    f"-Wl,-T,{SOURCES / 'program.ld'}",
    f"-I{SOURCES}",
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def setvar_symbols(analysis) -> list[str]:
    """Every symbol the SDF asks the tool to set: the value of every `setvar*` attribute and the
    `symbol` of every `<setvar>` element, in document order without repeats."""
    found: dict[str, None] = {}

    def walk(el):
        for name, value in el.raw:
            if name.startswith("setvar") or (el.local == "setvar" and name == "symbol"):
                found.setdefault(value, None)
        for child in el.elements:
            walk(child)

    walk(analysis.doc.root)
    return list(found)


def compiler(arch: str) -> str:
    """The C compiler for `arch` (skips the test when it is missing; fails under CI=true)."""
    cc = COMPILERS[arch]
    require(shutil.which(cc) is not None, f"{cc} is not installed (apt package in scripts/apt-build.txt)")
    return cc


class Programs:
    """Compiled stand-in programs, cached under `cache_dir` (safe to use from several threads)."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._pending: dict[Path, threading.Event] = {}

    def program(self, arch: str, tag: str, symbols: list[str]) -> Path:
        """A PD program tagged `tag` defining the word-sized `symbols`."""
        for sym in symbols:
            if not _IDENTIFIER.match(sym):
                raise ValueError(f"setvar symbol {sym!r} is not a C identifier")
        setvars = " ".join(f"SETVAR({s})" for s in symbols)
        return self._compile(
            arch, tag, ["microkit.c", "program.c"], [f"-DPROGRAM_TAG={_c_string(tag)}", f"-DPROGRAM_SETVARS={setvars}"]
        )

    def monitor(self, arch: str) -> Path:
        return self._compile(arch, "monitor", ["monitor.c"], [])

    def initialiser(self, arch: str) -> Path:
        return self._compile(arch, "initialiser", ["initialiser.c"], [])

    def search_path(self, analysis, arch: str, directory: Path) -> Path:
        """`directory` holding one compiled ELF at each program path the analysed system names."""
        system = analysis.system
        symbols = setvar_symbols(analysis)
        paths = sorted({p for pd in system.pds for p in (pd.program_image, pd.path_for_symbols) if p is not None})
        with ThreadPoolExecutor(max_workers=8) as pool:
            compiled = list(pool.map(lambda p: self.program(arch, p, symbols), paths))
        for rel, elf in zip(paths, compiled, strict=True):
            dest = directory / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(elf, dest)
        return directory

    def _compile(self, arch: str, tag: str, sources: list[str], defines: list[str]) -> Path:
        cc = compiler(arch)
        key = hashlib.sha256("\0".join([arch, tag, *sources, *defines]).encode()).hexdigest()[:16]
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", tag)
        out = self.cache_dir / arch / f"{stem}-{key}.elf"
        with self._lock:
            done = self._pending.get(out)
            owner = done is None
            if owner:
                done = self._pending[out] = threading.Event()
        if not owner:
            done.wait()
            assert out.is_file(), f"compiling {out.name} failed"
            return out
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            run = subprocess.run(
                [cc, *CFLAGS, *defines, "-o", str(out), *(str(SOURCES / s) for s in sources)],
                check=False,
                capture_output=True,
                text=True,
            )
            assert run.returncode == 0, f"{cc} failed for {tag}:\n{run.stderr}"
        finally:
            done.set()
        return out


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
