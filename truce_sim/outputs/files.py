"""Writing files safely: out dirs truce-sim owns, locks, atomic writes, the clock and versions.

Every command that writes results goes through here, so that no command can lose a user's file:

- **Ownership.** An out dir truce-sim writes holds a marker file, ``.truce-sim.json``, that names
  its kind (run, sweep, compare, ...) and every entry it wrote. truce-sim replaces or adds to a
  directory only when it is missing, empty, or owned: marked, of the same kind, and holding
  nothing but the entries it wrote (and owned subdirectories). Anything else is refused, with
  one line, before any work is done.
- **One writer at a time.** A command holds an exclusive lock on its out dir (``flock`` on a
  sibling ``.NAME.truce-sim.lock``) from its checks until its last write. The kernel releases
  the lock when the process dies, however it dies.
- **Whole or not at all.** A run's files are written into a hidden staging directory beside the
  out dir and exchanged with the old one in one rename (``renameat2(RENAME_EXCHANGE)`` where the
  kernel has it), so a kill at any moment leaves either the old out dir or the new one. Staging
  directories left by a killed command are removed by the next command into the same parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path

from truce_sim.core.errors import MachineError, UserError

MARKER = ".truce-sim.json"
STAGING_TAG = ".truce-sim-staging."
LOCK_SUFFIX = ".truce-sim.lock"
KINDS = ("run", "sweep", "compare", "discover", "validate", "calibrate", "nowcast")
NAME_MAX = 255


class OutDirError(UserError):
    """An out dir truce-sim must not write: told in one line, exit status 2."""


def utc_now() -> str:
    """The time now in UTC, to the second, as ISO 8601 (the one clock of manifests)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """The versions of Python and of the packages behind a result."""
    out = {"python": platform.python_version()}
    for dist in ("truce-sim", "mesa", "numpy", "pandas", "lifelines", "matplotlib", "PyYAML"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` whole or not at all: ``write(tmp)`` fills a hidden sibling, which is synced
    to disk and renamed into place; the directory is synced after the rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, body: object) -> Path:
    return write_text(path, json.dumps(body, indent=2, default=str) + "\n")


def _mode_from_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


# ---- ownership --------------------------------------------------------------------------


def read_marker(directory: Path) -> dict | None:
    """The marker of a directory truce-sim wrote, or None."""
    try:
        body = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("written_by") != "truce-sim" or not isinstance(body.get("entries"), list):
        return None
    return body


def _foreign_entries(directory: Path) -> list[str]:
    """Entries of an out dir that truce-sim did not write (empty when it owns all of them)."""
    marker = read_marker(directory)
    names = sorted(p.name for p in directory.iterdir())
    if marker is None:
        return [n for n in names if n != MARKER]
    written = set(marker["entries"]) | {MARKER}
    foreign = []
    for name in names:
        if name in written or name.startswith(f".{MARKER}"):
            continue
        if name.startswith(".") and name.endswith(".tmp") and name[1:-4] in written:
            continue  # an entry's half-written copy, left by a killed command (see atomic_write)
        child = directory / name
        if child.is_dir() and not child.is_symlink() and read_marker(child) is not None and not _foreign_entries(child):
            continue  # an owned out dir inside this one (a sweep's discover_* dirs)
        foreign.append(name)
    return foreign


def write_marker(directory: Path, kind: str, entries: Iterable[str]) -> None:
    body = {
        "written_by": "truce-sim",
        "kind": kind,
        "version": versions()["truce-sim"],
        "entries": sorted(set(entries) - {MARKER}),
    }
    write_json(directory / MARKER, body)


def add_entries(directory: Path, names: Iterable[str]) -> None:
    """Record more entries written into an owned out dir (a sweep's files as they appear)."""
    marker = read_marker(directory)
    if marker is None:
        raise MachineError(f"{directory}: its {MARKER} marker was removed while it was being written")
    new = set(names) - set(marker["entries"])
    if new:
        write_marker(directory, marker["kind"], [*marker["entries"], *new])


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_out_dir(out_dir: str | Path, kind: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse, with one line and before any work, an out dir this command must not write.

    Returns the out dir. ``inputs`` are directories the command reads (compare's runs, a
    sweep for discover): writing over one of them is refused.
    """
    out_dir = Path(out_dir)
    label = str(out_dir)
    resolved = out_dir.resolve()
    if "\x00" in label:
        raise OutDirError("--out: a path cannot hold a NUL byte")
    if _is_within(Path.cwd().resolve(), resolved):
        raise OutDirError(f"--out {label}: is the current directory or one of its parents; choose another --out")
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise OutDirError(f"--out {label}: is the root or home directory; choose another --out")
    for source in inputs:
        if _is_within(Path(source).resolve(), resolved):
            raise OutDirError(f"--out {label}: holds {source}, which this command reads; choose another --out")
    if len(out_dir.name.encode()) > NAME_MAX:
        raise OutDirError(f"--out {label}: the name is longer than {NAME_MAX} bytes")
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise OutDirError(f"--out {label}: exists and is not a directory")
    if out_dir.exists():
        if os.path.ismount(out_dir):
            raise OutDirError(
                f"--out {label}: is a mount point, which cannot be replaced; choose a directory inside it"
            )
        try:
            foreign = _foreign_entries(out_dir)
        except PermissionError:
            raise OutDirError(f"--out {label}: cannot be read (permission denied); choose another --out") from None
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OutDirError(f"{label} holds files truce-sim did not write ({shown}); choose another --out")
        marker = read_marker(out_dir)
        if marker is not None and marker["kind"] != kind:
            raise OutDirError(
                f"{label} holds a {marker['kind']}'s results, which a {kind} does not replace; choose another --out"
            )
    _check_parent_writable(out_dir, label)
    return out_dir


def _check_parent_writable(out_dir: Path, label: str) -> None:
    parent = out_dir.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutDirError(f"--out {label}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutDirError(
            f"--out {label}: cannot write in {parent} (permission denied or read-only); choose another --out"
        )
    if os.statvfs(parent).f_flag & os.ST_RDONLY:
        raise OutDirError(f"--out {label}: {parent} is on a read-only file system; choose another --out")


# ---- locks and staging --------------------------------------------------------------------


def _short_name(name: str) -> str:
    """A name for sibling files that stays within the file system's limit however long ``name`` is."""
    if len(name.encode()) <= 120:
        return name
    return name[:60] + "-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def _lock_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{_short_name(out_dir.name)}{LOCK_SUFFIX}"


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive lock on ``path``, or None when another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return None
            raise
        # the holder before us may have removed the file after we opened it: lock the file
        # that is at the path now, not an orphaned one
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _release(fd: int, path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
    os.close(fd)


def clean_stale_staging(parent: Path, held: str | None = None) -> None:
    """Remove staging directories that killed commands left in ``parent``. A staging directory is
    stale when the lock of its out dir is free (no living command is writing it), or when that
    lock is ``held`` by this command, which has not staged anything yet."""
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        match = re.fullmatch(rf"\.(.+){re.escape(STAGING_TAG)}[A-Za-z0-9_]+", entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink() or read_marker(entry) is None:
            continue
        if match.group(1) == held:
            shutil.rmtree(entry, ignore_errors=True)
            continue
        lock = parent / f".{match.group(1)}{LOCK_SUFFIX}"
        fd = _try_lock(lock)
        if fd is None:
            continue
        try:
            shutil.rmtree(entry, ignore_errors=True)
        finally:
            _release(fd, lock)


class OutDir:
    """An out dir held by this command: checked, locked, and written in one of two ways.

    ``stage()`` then ``commit()`` writes a whole new out dir and swaps it in (run, compare,
    validate, calibrate, discover). ``open_in_place()`` keeps writing into the out dir itself,
    file by file (a sweep, whose points are saved as they finish).
    """

    def __init__(self, path: str | Path, kind: str, inputs: Iterable[str | Path] = ()):
        if kind not in KINDS:
            raise ValueError(f"unknown out dir kind {kind!r}")
        self.path = Path(path)
        self.kind = kind
        self.inputs = list(inputs)
        self._lock_fd: int | None = None
        self._staging: Path | None = None

    def __enter__(self) -> OutDir:
        check_out_dir(self.path, self.kind, self.inputs)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock_path(self.path)
        try:
            fd = _try_lock(lock)
        except OSError as exc:
            raise OutDirError(f"--out {self.path}: cannot lock it ({exc.strerror})") from None
        if fd is None:
            raise OutDirError(
                f"{self.path} is being written by another truce-sim command; "
                "wait for it to finish or choose another --out"
            )
        self._lock_fd = fd
        # checked again under the lock: another command may have written it in between
        try:
            check_out_dir(self.path, self.kind, self.inputs)
        except BaseException:
            self._unlock()
            raise
        clean_stale_staging(self.path.parent, held=_short_name(self.path.name))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            _release(self._lock_fd, _lock_path(self.path))
            self._lock_fd = None

    def stage(self) -> Path:
        """A new, empty staging directory beside the out dir, to be filled and committed."""
        if self._staging is None:
            prefix = f".{_short_name(self.path.name)}{STAGING_TAG}"
            self._staging = Path(tempfile.mkdtemp(prefix=prefix, dir=self.path.parent))
            os.chmod(self._staging, _mode_from_umask())
            write_marker(self._staging, self.kind, [])  # so a killed command's staging is known as ours
        return self._staging

    def commit(self) -> Path:
        """Put the staged directory in place of the out dir, in one step where the kernel can."""
        staging = self._staging
        if staging is None:
            raise RuntimeError("commit() before stage()")
        write_marker(staging, self.kind, [p.name for p in staging.iterdir()])
        _fsync_dir(staging)
        if not self.path.exists():
            os.rename(staging, self.path)
        elif _exchange(staging, self.path):
            shutil.rmtree(staging, ignore_errors=True)  # now the old out dir
        else:
            _replace_in_two_steps(staging, self.path)
        self._staging = None
        _fsync_dir(self.path.parent)
        return self.path

    def open_in_place(self, fresh: bool) -> Path:
        """The out dir itself, created and marked; with ``fresh``, emptied of what it held (all of
        which truce-sim wrote, as the checks on entry made sure)."""
        if fresh and self.path.exists():
            # the marker goes last: an interrupt half way leaves files it still names
            for child in self.path.iterdir():
                if child.name == MARKER:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, _mode_from_umask())
        if fresh or read_marker(self.path) is None:
            write_marker(self.path, self.kind, [])
        return self.path


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _replace_in_two_steps(new: Path, target: Path) -> None:
    """Where no exchange exists: the old dir is moved aside (still marked, so a later command
    removes it if this one dies) and removed only once the new one is in place."""
    aside = Path(tempfile.mkdtemp(prefix=f".{_short_name(target.name)}{STAGING_TAG}", dir=target.parent))
    write_marker(aside, "run", [])
    os.replace(target, aside / "old")
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(aside / "old", target)
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def staged_out_dir(path: str | Path, kind: str, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """``with staged_out_dir(out, "compare") as d:`` fill ``d``; it replaces ``out`` on leaving the
    block without an exception, and vanishes otherwise."""
    with OutDir(path, kind, inputs) as out:
        staging = out.stage()
        yield staging
        out.commit()
