"""The I/O edge: every file the project reads goes through `read_file`, and program images are
parsed once by a shared `ProgramImages`.

An SDF may name anything as a prefill file or a program image: a FIFO (reading it blocks for
ever), `/dev/zero` (reading it never ends), a disk image of many GiB. So a file is read only when
it is a regular file (symlinks resolved) no larger than the limit of its kind. The check is made
again on the open file (`fstat`), which is opened without blocking, so a FIFO swapped in after the
first `stat` cannot block either. Anything else is a `FileError`, whose message names the file
and says why ("'x' is not a regular file (a FIFO)").

What an analysis reads is checked with one `os.stat` per analysis and read again when the file
changed (device, inode, size, modification or change time): a prefill file or program image
created, resized or replaced while a document is open is seen by the next analysis.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.resolve.access import PrefillInfo, ProgramInfo, Segment

log = logging.getLogger(__name__)

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Kind:
    """What a file is read as, and the most bytes such a file may have."""

    noun: str  # "an ELF file", for messages
    limit: int


#: SDF files: real systems are at most a few MiB, and a syntax tree takes many times its text.
SDF = Kind("an SDF file", 64 * MiB)
#: Prefill files: the build holds each in memory (as the Microkit tool does) to fill a region's
#: frames; 1 GiB is more than a prefilled region of any board Microkit supports.
PREFILL = Kind("a prefill file", 1 * GiB)
#: ELF files (program images; the SDK's kernel, loader, monitor and initialiser): a parsed image
#: keeps its file and a copy of its loadable segments.
ELF = Kind("an ELF file", 512 * MiB)
#: Target files and the SDK's configuration files: a few KiB each.
JSON = Kind("a JSON file", 16 * MiB)

#: (device, inode, size, mtime, ctime): a file whose stamp is unchanged need not be read again.
Stamp = tuple[int, int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class FileError(OSError):
    """A file that cannot be read, or that the guard refuses to read; `str()` is a sentence naming it."""

    def __init__(self, path: str, message: str, reason: str, errno: int | None = None):
        super().__init__(errno, reason)
        self.path = path
        self.message = message
        self.reason = reason  # the message without the file: "not a regular file (a FIFO)"

    def __str__(self) -> str:
        return self.message

    @classmethod
    def refused(cls, path: str, reason: str) -> FileError:
        return cls(path, f"'{path}' is {reason}", reason)

    @classmethod
    def from_os(cls, path: str, err: OSError) -> FileError:
        reason = err.strerror or str(err)
        return cls(path, f"cannot read '{path}': {reason}", reason, err.errno)


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "of an unknown type"


def _size(n: int) -> str:
    """1.2 GiB, 64 MiB, 12 B."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} B"


def _refuse(path: str, st: os.stat_result, kind: Kind, size: int | None = None) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise FileError.refused(path, f"not a regular file ({_file_type(st.st_mode)})")
    size = st.st_size if size is None else size
    if size > kind.limit:
        shown = _size(size) if _size(size) != _size(kind.limit) else f"{size} bytes"
        raise FileError.refused(path, f"{shown}, more than the {_size(kind.limit)} {kind.noun} may have")


def _open(path: str, kind: Kind) -> tuple[int, os.stat_result]:
    """A descriptor open for reading `path` and its `fstat`, when the guard lets it be read."""
    try:
        _refuse(path, os.stat(path), kind)  # a device is never opened: opening some has effects
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileError:
        raise
    except OSError as err:
        raise FileError.from_os(path, err) from None
    try:
        st = os.fstat(fd)
        _refuse(path, st, kind)  # what was opened may not be what was checked
    except OSError as err:
        os.close(fd)
        raise err if isinstance(err, FileError) else FileError.from_os(path, err) from None
    return fd, st


def check_file(path: str, kind: Kind) -> os.stat_result:
    """The `stat` of `path` when it could be read as `kind` (opened and closed; nothing is read)."""
    fd, st = _open(path, kind)
    os.close(fd)
    return st


def read_stamped(path: str, kind: Kind) -> tuple[bytes, Stamp]:
    """The bytes of `path` and the stamp of the file they were read from; raises FileError."""
    fd, st = _open(path, kind)
    try:
        parts: list[bytes] = []
        total = 0
        while True:
            # the size `fstat` gave in one read; then small reads until the end (a growing file)
            want = st.st_size - total if total < st.st_size else 64 * KiB
            chunk = os.read(fd, min(want, kind.limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > kind.limit:
                _refuse(path, st, kind, max(total, os.fstat(fd).st_size))
    except OSError as err:
        raise err if isinstance(err, FileError) else FileError.from_os(path, err) from None
    finally:
        os.close(fd)
    return (parts[0] if len(parts) == 1 else b"".join(parts)), stamp_of(st)


def read_file(path: str, kind: Kind) -> bytes:
    """The bytes of `path`, a regular file of at most `kind.limit` bytes; raises FileError."""
    return read_stamped(path, kind)[0]


def read_sdf(path: str) -> tuple[str, str | None]:
    """The text of an SDF file and a problem with its encoding, if any (raises FileError)."""
    return decode(read_file(path, SDF))


def decode(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return data.decode(
            "utf-8", errors="replace"
        ), f"the file is not valid UTF-8 (byte {err.start}: {data[err.start : err.start + 1]!r})"


#: Folders a search for SDF files never descends into (besides hidden ones and build outputs).
SKIPPED_FOLDERS = ("build", "node_modules", "__pycache__")
#: The file a build leaves in the folder it wrote (`sdf_lsp.backend.build.MANIFEST`).
BUILD_MANIFEST = ".sdf-lsp-build.json"


def system_files(folder: str, skip: set[str] | frozenset[str] = frozenset(), limit: int | None = None) -> list[str]:
    """Every `*.system` below `folder`, sorted, leaving out hidden files and folders, the folders
    in SKIPPED_FOLDERS or in `skip` (absolute paths) and any folder a build wrote (it holds a
    build manifest); at most `limit` files (the first found)."""
    found: list[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIPPED_FOLDERS
            and os.path.abspath(os.path.join(root, d)) not in skip
            and not os.path.isfile(os.path.join(root, d, BUILD_MANIFEST))
        )
        found.extend(
            os.path.join(root, name) for name in names if name.endswith(".system") and not name.startswith(".")
        )
        if limit is not None and len(found) >= limit:
            del found[limit:]
            break
    return sorted(found, key=lambda p: os.path.relpath(p, folder).split(os.sep))


def find_on_paths(path: str, search_paths: list[str]) -> str | None:
    """upstream `get_full_path`: the first search path under which `path` exists."""
    if os.path.isabs(path):
        return path if os.path.exists(path) else None
    for base in search_paths:
        full = os.path.join(base, path)
        if os.path.exists(full):
            return full
    return None


# ------------------------------------------------------------------------- program images


class UnreadableImage(ElfError):
    """A program image whose file cannot be read (its message is the `FileError`'s)."""


class ProgramImages:
    """Parsed ELF files by path, shared by the analysis, the editor features and the build, so that
    each file is parsed once while it stays unchanged; a file that cannot be read or parsed is
    remembered with its problem the same way.

    The cache keeps the most recently used images up to `budget` bytes (a parsed image takes about
    twice its file). A build thread may share it with the server's event loop: each lookup and
    store is one operation under a lock; two threads loading the same changed file at once may
    both parse it.
    """

    def __init__(self, budget: int = 1 * GiB):
        self.budget = budget
        self.parses = 0  # files parsed (for tests: one build parses each image once)
        self._cache: OrderedDict[str, tuple[Stamp, ElfImage | ElfError, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def load(self, path: str) -> ElfImage:
        """The image at `path` (a path found on the search paths). Raises `UnreadableImage` when the
        file cannot be read, `ElfError` when it is not a valid ELF file (a new exception each call)."""
        try:
            now = stamp_of(os.stat(path))
        except OSError as err:
            raise UnreadableImage(str(FileError.from_os(path, err))) from None
        with self._lock:
            hit = self._cache.get(path)
            if hit is not None and hit[0] == now:
                self._cache.move_to_end(path)
                return _result(hit[1])
        result: ElfImage | ElfError
        try:
            data, now = read_stamped(path, ELF)
        except FileError as err:
            result, held = UnreadableImage(str(err)), 0
        else:
            with self._lock:
                self.parses += 1
            try:
                result = ElfImage.from_bytes(data, path)
            except ElfError as err:
                result = err
            held = 2 * len(data)
        self._store(path, now, result, held)
        return _result(result)

    def _store(self, path: str, st: Stamp, result, held: int) -> None:
        with self._lock:
            old = self._cache.pop(path, None)
            if old is not None:
                self._held -= old[2]
            self._cache[path] = (st, result, held)
            self._held += held
            while self._held > self.budget and len(self._cache) > 1:
                _, (_, _, size) = self._cache.popitem(last=False)
                self._held -= size


def _result(value: ElfImage | ElfError) -> ElfImage:
    if isinstance(value, ElfImage):
        return value
    raise type(value)(*value.args)  # a fresh exception: re-raising one would grow its traceback


class SearchPathFiles:
    """The files one SDF names, found on its search paths (in order, as upstream does): the
    prefill files' sizes and the program images' segments for the analysis (`FileAccess`), and
    the parsed program images for the editor features and the build.

    Each answer costs one `os.stat` of the file: a file found again with the same stamp is not
    read again, a changed one is.
    """

    def __init__(self, search_paths: list[str], images: ProgramImages | None = None):
        self.search_paths = list(search_paths)
        self.images = images if images is not None else ProgramImages()
        self._prefills: dict[str, tuple[Stamp, PrefillInfo]] = {}  # found path -> (stamp, facts)
        self._programs: dict[str, tuple[ElfImage, ProgramInfo]] = {}  # found path -> (image, facts)

    def find(self, path: str) -> str | None:
        return find_on_paths(path, self.search_paths)

    def prefill(self, path: str) -> PrefillInfo:
        full = self.find(path)
        if full is None:
            return PrefillInfo(error="missing")
        try:
            now = stamp_of(os.stat(full))
        except OSError:
            return PrefillInfo(error="unreadable", path=full)
        hit = self._prefills.get(full)
        if hit is not None and hit[0] == now:
            return hit[1]
        try:
            st = check_file(full, PREFILL)
            info = PrefillInfo(length=st.st_size, path=full)
            now = stamp_of(st)
        except FileError as err:
            log.debug("prefill file: %s", err)
            info = PrefillInfo(error="unreadable", path=full)
        self._prefills[full] = (now, info)
        return info

    def program(self, path: str) -> ProgramInfo:
        """The loadable segments of a program image."""
        full = self.find(path)
        if full is None:
            return ProgramInfo(error="not found on the search paths")
        try:
            image = self.images.load(full)
        except UnreadableImage as err:
            return ProgramInfo(error=str(err), path=full)
        except ElfError as err:
            return ProgramInfo(error=f"not a readable ELF file: {err}", path=full)
        hit = self._programs.get(full)
        if hit is not None and hit[0] is image:
            return hit[1]
        info = ProgramInfo(tuple(_segment(seg) for seg in image.segments), path=full)
        self._programs[full] = (image, info)
        return info


def _segment(seg) -> Segment:
    perms = ("r" if seg.readable else "-") + ("w" if seg.writable else "-") + ("x" if seg.executable else "-")
    return Segment(seg.vaddr, seg.memsz, perms)
