"""The guarded reader, the shared program images and the search-path files: what is not a regular
file or is too large is refused with a sentence saying why (and nothing blocks); files that change
while a document is open are read again."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from sdf_lsp.analysis import Session
from sdf_lsp.elf import ElfError
from sdf_lsp.files import (
    ELF,
    PREFILL,
    SDF,
    FileError,
    Kind,
    ProgramImages,
    SearchPathFiles,
    UnreadableImage,
    check_file,
    read_file,
    read_sdf,
)
from sdf_lsp.model.lower import Context
from sdf_lsp.target import default_target
from tests.backend.standin import standin_elf

CTX = Context(default_target())


def release(fifo: Path) -> None:
    """Unblock whoever waits to open `fifo` for reading: a writer comes and goes at once."""
    with contextlib.suppress(OSError):  # nobody waits
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def finishes(fn, *args, fifo: Path | None = None, seconds: float = 10.0):
    """`fn(*args)`, failing the test if it has not returned in `seconds` (a FIFO it waits on is
    released first, so that the test itself does not block)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as err:  # handed to the test
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if fifo is not None:
            release(fifo)
        thread.join(5)
        pytest.fail(f"{getattr(fn, '__name__', fn)} blocked for {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "fifo.bin"
    os.mkfifo(path)
    return path


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


# ------------------------------------------------------------------------------ the reader


def test_a_fifo_is_refused_without_blocking(fifo):
    for kind in (SDF, PREFILL, ELF):
        with pytest.raises(FileError) as err:
            finishes(read_file, str(fifo), kind, fifo=fifo)
        assert str(err.value) == f"'{fifo}' is not a regular file (a FIFO)"
        assert err.value.reason == "not a regular file (a FIFO)"
    with pytest.raises(FileError, match="a FIFO"):
        finishes(check_file, str(fifo), PREFILL, fifo=fifo)


def test_devices_directories_and_links_to_them_are_refused(tmp_path):
    link = tmp_path / "zero.elf"
    link.symlink_to("/dev/zero")
    for path, what in (
        ("/dev/zero", "a character device"),
        (str(link), "a character device"),
        (str(tmp_path), "a directory"),
    ):
        with pytest.raises(FileError) as err:
            read_file(path, ELF)
        assert str(err.value) == f"'{path}' is not a regular file ({what})"


def test_a_file_over_the_limit_of_its_kind_is_refused(tmp_path):
    big = sparse(tmp_path / "big.elf", 1288490189)  # 1.2 GiB
    with pytest.raises(FileError) as err:
        read_file(str(big), ELF)
    assert str(err.value) == f"'{big}' is 1.2 GiB, more than the 512 MiB an ELF file may have"
    sdf = sparse(tmp_path / "big.system", 65 * 2**20)
    with pytest.raises(FileError, match=r"is 65 MiB, more than the 64 MiB an SDF file may have$"):
        read_sdf(str(sdf))
    with pytest.raises(FileError, match="is 1073741825 bytes, more than the 1 GiB a prefill file may have"):
        check_file(str(sparse(tmp_path / "big.bin", 2**30 + 1)), PREFILL)


def test_a_file_at_the_limit_is_read_whole(tmp_path):
    small = Kind("a test file", 10)
    f = tmp_path / "ten"
    f.write_bytes(b"0123456789")
    assert read_file(str(f), small) == b"0123456789"
    f.write_bytes(b"0123456789a")
    with pytest.raises(FileError, match="is 11 B, more than the 10 B a test file may have"):
        read_file(str(f), small)


def test_what_the_os_refuses_is_a_file_error(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(FileError) as err:
        read_file(str(missing), SDF)
    assert str(err.value) == f"cannot read '{missing}': No such file or directory"
    assert isinstance(err.value, OSError) and err.value.errno == 2


# ------------------------------------------------------------------------------ program images


def test_program_images_are_parsed_once_while_unchanged(tmp_path):
    elf = tmp_path / "p.elf"
    elf.write_bytes(standin_elf({"a": 8}))
    images = ProgramImages()
    first = images.load(str(elf))
    assert images.load(str(elf)) is first and images.parses == 1
    elf.write_bytes(standin_elf({"a": 8, "b": 0x3000}))  # bigger: the stamp changes
    second = images.load(str(elf))
    assert second is not first and images.parses == 2
    assert second.segments[1].memsz > first.segments[1].memsz


def test_an_image_replaced_by_one_of_the_same_size_is_read_again(tmp_path):
    elf = tmp_path / "p.elf"
    elf.write_bytes(standin_elf({"a": 8}, tag="one"))
    images = ProgramImages()
    first = images.load(str(elf))
    new = tmp_path / "new.elf"
    new.write_bytes(standin_elf({"a": 8}, tag="two"))
    assert new.stat().st_size == elf.stat().st_size
    new.replace(elf)  # a new inode
    assert images.load(str(elf)).raw != first.raw and images.parses == 2


def test_problems_are_remembered_and_raised_afresh(tmp_path, fifo):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"not an elf at all")
    images = ProgramImages()
    errors = []
    for _ in range(2):
        with pytest.raises(ElfError) as err:
            images.load(str(junk))
        errors.append(err.value)
    assert errors[0] is not errors[1] and "magic check failed" in str(errors[1])
    assert not isinstance(errors[0], UnreadableImage) and images.parses == 1
    with pytest.raises(UnreadableImage, match=r"is not a regular file \(a FIFO\)$"):
        finishes(images.load, str(fifo), fifo=fifo)
    with pytest.raises(UnreadableImage, match=r"'/dev/zero' is not a regular file \(a character device\)"):
        images.load("/dev/zero")
    assert images.parses == 1


def test_the_cache_keeps_the_most_recently_used_images_within_its_budget(tmp_path):
    paths = []
    for name in ("a", "b"):
        p = tmp_path / f"{name}.elf"
        p.write_bytes(standin_elf({name: 8}))
        paths.append(str(p))
    images = ProgramImages(budget=3 * os.path.getsize(paths[0]))  # room for one parsed image
    a = images.load(paths[0])
    images.load(paths[1])
    assert images.parses == 2
    assert images.load(paths[1]) is not None and images.parses == 2
    assert images.load(paths[0]) is not a and images.parses == 3


# ------------------------------------------------------------------------------ search-path files


def test_prefill_files_that_cannot_be_read_are_unreadable(tmp_path, fifo):
    files = SearchPathFiles([str(tmp_path)])
    info = finishes(files.prefill, "fifo.bin", fifo=fifo)
    assert info.error == "unreadable" and info.path == str(fifo)
    assert files.prefill("/dev/zero").error == "unreadable"
    sparse(tmp_path / "huge.bin", 2**30 + 1)
    assert files.prefill("huge.bin").error == "unreadable"
    assert files.prefill("nowhere.bin").error == "missing"


def test_prefill_files_are_seen_when_created_resized_or_replaced(tmp_path):
    files = SearchPathFiles([str(tmp_path)])
    assert files.prefill("data.bin").error == "missing"
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 10)
    assert files.prefill("data.bin").length == 10
    data.write_bytes(b"x" * 5000)
    assert files.prefill("data.bin").length == 5000
    (tmp_path / "other.bin").write_bytes(b"y" * 7)
    (tmp_path / "other.bin").replace(data)
    assert files.prefill("data.bin").length == 7
    data.unlink()
    assert files.prefill("data.bin").error == "missing"


def test_program_segments_follow_the_file(tmp_path, fifo):
    files = SearchPathFiles([str(tmp_path)])
    assert files.program("p.elf").error == "not found on the search paths"
    elf = tmp_path / "p.elf"
    elf.write_bytes(standin_elf({"a": 8}))
    first = files.program("p.elf")
    assert first.found and files.program("p.elf") is first
    elf.write_bytes(standin_elf({"a": 8, "b": 0x3000}))
    assert files.program("p.elf").segments[1].memsz > first.segments[1].memsz
    assert files.images.parses == 2
    bad = finishes(files.program, "fifo.bin", fifo=fifo)
    assert bad.error == f"'{fifo}' is not a regular file (a FIFO)"
    assert files.program("/dev/zero").error == "'/dev/zero' is not a regular file (a character device)"


SYSTEM = """<system>
    <memory_region name="m" prefill_path="data.bin" />
    <memory_region name="n" size="0x1000" prefill_path="data.bin" />
    <protection_domain name="p"><program_image path="p.elf" /><map mr="m" vaddr="0x1000000" /></protection_domain>
</system>
"""


def test_a_session_sees_prefill_files_created_and_resized_while_it_is_open(tmp_path):
    session = Session(SYSTEM, CTX, SearchPathFiles([str(tmp_path)]))

    def r4_r7():
        return sorted(
            (d.code, d.message.split(":")[0]) for d in session.analyse().diagnostics if d.code in ("MK-R4", "MK-R7")
        )

    assert r4_r7() == [("MK-R4", "unable to find prefill file"), ("MK-R4", "unable to find prefill file")]
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 100)
    session.edit(0, 0, " ")  # any edit: the document is not saved
    assert r4_r7() == []
    system = session.analysis.system
    assert system.size_of(system.mr_by_name["m"]) == 0x1000
    data.write_bytes(b"x" * 0x1800)
    session.edit(0, 1, "")
    assert r4_r7() == [("MK-R7", "size of prefill file exceeds memory region size")]
    system = session.analysis.system
    assert system.size_of(system.mr_by_name["m"]) == 0x2000
