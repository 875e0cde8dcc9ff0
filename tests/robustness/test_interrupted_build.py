"""`sdf-lsp build` interrupted at random moments (SIGINT, SIGTERM; SIGKILL too) leaves the
old outputs or the complete new ones, never a mix, and nothing beside the output folder.

Builds of two golden systems (stand-in ELFs, the fixture SDK) alternate into one folder, so
old and new outputs differ. Half the signals come at a random moment of the whole build,
half while the outputs are being written (once the work folder appears)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.backend.golden import BOARD, GOLDEN, SDK
from tests.conftest import require

pytestmark = pytest.mark.e2e

SYSTEMS = ("hello", "hierarchy")
ROUNDS = int(os.environ.get("SDF_LSP_INTERRUPT_ROUNDS", "16"))


def command(system: str, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sdf_lsp",
        "build",
        str(GOLDEN / "systems" / system / f"{system}.system"),
        "--sdk",
        str(SDK),
        "--board",
        BOARD,
        "--config",
        "debug",
        "--search-path",
        str(GOLDEN / "elf" / system),
        "--out-dir",
        str(out),
    ]


def contents(folder: Path) -> dict[str, bytes] | None:
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return sorted(n for n in os.listdir(out.parent) if n.startswith(f".{out.name}."))


def build(system: str, out: Path) -> float:
    t0 = time.monotonic()
    run = subprocess.run(command(system, out), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return time.monotonic() - t0


def interrupt(system: str, out: Path, sig: int, delay: float | None, rng: random.Random) -> int:
    """Start a build and send `sig` after `delay` seconds, or (None) soon after its work
    folder appears. Returns the exit status."""
    proc = subprocess.Popen(command(system, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if delay is not None:
            time.sleep(delay)
        else:
            end = time.monotonic() + 120
            while proc.poll() is None and not leftovers(out) and time.monotonic() < end:
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.02))
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """What an uninterrupted build of each system writes, and how long it takes."""
    require(SDK.is_dir(), f"golden SDK fixture not found at {SDK}")
    base = tmp_path_factory.mktemp("complete")
    out = {}
    for system in SYSTEMS:
        seconds = build(system, base / system)
        out[system] = contents(base / system)
        out[f"{system}-seconds"] = seconds
    assert out["hello"] != out["hierarchy"]
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_builds(tmp_path, complete, sig):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    out = tmp_path / "out"
    build("hello", out)
    for i in range(ROUNDS):
        system = SYSTEMS[(i + 1) % 2]
        before = contents(out)
        delay = rng.uniform(0, 1.2 * complete[f"{system}-seconds"]) if i % 2 else None
        interrupt(system, out, sig, delay, rng)
        after = contents(out)
        where = f"seed {seed}, round {i}: {system}, {signal.Signals(sig).name} after {delay or 'the work folder'}"
        assert after == before or after == complete[system], f"{where}: the output folder holds a mix"
        assert leftovers(out) == [], f"{where}: left {leftovers(out)}"


def test_killed_builds_are_recovered_by_the_next_one(tmp_path, complete):
    """SIGKILL cannot be caught: a killed build may leave its work folder (with the old
    outputs in it, if it died between the two renames); the next build cleans up."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    out = tmp_path / "out"
    build("hello", out)
    for i in range(ROUNDS // 2):
        system = SYSTEMS[(i + 1) % 2]
        before = contents(out)
        interrupt(system, out, signal.SIGKILL, None, rng)
        after = contents(out)
        where = f"seed {seed}, round {i}"
        if after is None:  # died between the renames: the old outputs wait in the work folder
            (work,) = leftovers(out)
            assert contents(out.parent / work / "old") == before, where
        else:
            assert after == before or after == complete[system], f"{where}: a mix"
        other = SYSTEMS[i % 2]
        build(other, out)  # the next build puts things right
        assert contents(out) == complete[other], where
        assert leftovers(out) == [], where
