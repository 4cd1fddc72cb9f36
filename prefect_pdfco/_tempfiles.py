"""Owned temporary files, removed on error, SIGTERM or (swept) after a SIGKILL. See docs/design/links.md."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; names alone tell owners apart
    fcntl = None  # type: ignore[assignment]

PART_PREFIX = ".pdfco-"
PART_SUFFIX = ".part"
_DIR_PREFIX = "pdfco-"
SWEEP_INTERVAL = 60.0  # a listing per download would cost in big folders
_OWNER = r"(?P<host>[0-9a-f]{8})-(?P<boot>[0-9a-f]{8}|0)-(?P<pid>\d+)-(?P<start>\d+)-[A-Za-z0-9_]+"
_PART_NAME = re.compile(rf"^{re.escape(PART_PREFIX)}{_OWNER}{re.escape(PART_SUFFIX)}$")
_DIR_NAME = re.compile(rf"^{re.escape(_DIR_PREFIX)}{_OWNER}$")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


_HOST, _BOOT = _short_hash(socket.gethostname()), "0"
with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as _boot_id:  # Linux only
    _BOOT = _short_hash(_boot_id.read().strip())


def _start_time(pid: int) -> int:
    """The start time of ``pid`` in clock ticks since boot (Linux), 0 when unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/stat", "rb") as handle:
        # Field 22; the command name (field 2) may hold spaces and parentheses, so count from its end.
        return int(handle.read().rsplit(b")", 1)[1].split()[19])
    return 0


def owner_tag() -> str:
    """``<host>-<boot>-<pid>-<start>`` of this process (computed each time: a forked child differs)."""
    pid = os.getpid()
    return f"{_HOST}-{_BOOT}-{pid}-{_start_time(pid)}"


def _owner_is_dead(match: re.Match[str]) -> bool:
    if match["host"] != _HOST:
        return False  # another machine sharing this directory: we cannot know
    if match["boot"] != "0" and _BOOT != "0" and match["boot"] != _BOOT:
        return True  # written before this machine last booted
    pid, start = int(match["pid"]), int(match["start"])
    if pid == os.getpid():
        return start != 0 and start != _start_time(pid)  # our own files are in flight
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return start != 0 and _start_time(pid) not in (0, start)  # the pid now belongs to a younger process


def lock(fd: int) -> bool:
    """Takes the owner's lock on a file; False when another holds it (or the file system has no locks)."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlocked(path: Path) -> bool:
    """Whether nobody holds the owner's lock on ``path`` (a live owner always does while writing)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            return lock(fd)
        finally:
            os.close(fd)  # closing releases our probe lock
    return False


_last_sweep: dict[str, float] = {}


def sweep(directory: Path, *, force: bool = False) -> list[Path]:
    """Removes the ``.pdfco-*.part`` files that dead owners left in ``directory``; returns them. Never raises."""
    return _sweep(directory, _PART_NAME, force)


def sweep_private_dirs(parent: str | None = None, *, force: bool = False) -> list[Path]:
    """Removes the private staging directories (``pdfco-*``) of dead owners in the temporary directory."""
    return _sweep(Path(parent or tempfile.gettempdir()), _DIR_NAME, force)


def _sweep(directory: Path, name: re.Pattern[str], force: bool) -> list[Path]:
    """What dead owners left in ``directory`` under ``name``, removed; nothing when swept within ``SWEEP_INTERVAL``."""
    key, now = os.path.abspath(directory), time.monotonic()
    with _lock:
        if not force and now - _last_sweep.get(key, -SWEEP_INTERVAL) < SWEEP_INTERVAL:
            return []
        _last_sweep[key] = now
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    removed: list[Path] = []
    for entry in entries:
        if (match := name.match(entry.name)) is None or not _owner_is_dead(match):
            continue
        with contextlib.suppress(OSError):
            if name is _DIR_NAME and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
                removed.append(Path(entry.path))
            elif name is _PART_NAME and entry.is_file(follow_symlinks=False) and _unlocked(Path(entry.path)):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def open_part(directory: Path) -> tuple[BinaryIO, Path]:
    """A new, locked, owner-tagged temporary file in ``directory`` (created if missing, swept first)."""
    directory.mkdir(parents=True, exist_ok=True)
    sweep(directory)
    path = directory / f"{PART_PREFIX}{owner_tag()}-{secrets.token_hex(8)}{PART_SUFFIX}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    lock(fd)
    return open(fd, "w+b"), path  # the caller closes it


def put_in_place(file: BinaryIO, part: Path, final: Path, durable: bool = False) -> None:
    """Renames the temporary file to ``final`` (atomic); ``durable`` fsyncs it first (a machine's crash too)."""
    file.flush()
    if durable:
        os.fsync(file.fileno())
    file.close()  # Windows cannot rename an open file; the owner's name still keeps sweepers off until the rename
    os.replace(part, final)


def unlink(path: Path, *, is_dir: bool = False) -> None:
    """Removes ``path`` (a whole directory with ``is_dir``) if it is there; best effort, never raises."""
    if is_dir:
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.unlink(path)


def new_private_dir(parent: str | None = None) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{owner_tag()}-", dir=parent))


# Written under _lock; the handler only copies them: it runs in the main thread, which may hold the lock.
_paths: dict[object, tuple[Path, bool]] = {}
_transfers: dict[object, tuple[asyncio.Task[Any], asyncio.AbstractEventLoop]] = {}
_lock = threading.Lock()
_previous: Any = signal.SIG_DFL
_in_handler = threading.local()


def in_flight() -> tuple[list[Path], int]:
    """The temporary paths registered in this process, and how many transfers are."""
    return [path for path, _ in tuple(_paths.values())], len(_transfers)


def remove_registered() -> None:
    """Removes every registered temporary file and directory now (SIGTERM handler and ``atexit``)."""
    for path, is_dir in tuple(_paths.values()):
        unlink(path, is_dir=is_dir)


@contextlib.contextmanager
def _registered(registry: dict[object, Any], entry: Any) -> Iterator[None]:
    token = object()
    with _lock:
        registry[token] = entry
    try:
        yield
    finally:
        with _lock:
            registry.pop(token, None)


def track(path: Path, *, is_dir: bool = False) -> contextlib.AbstractContextManager[None]:
    """Registers ``path`` for removal on SIGTERM and at exit while the block runs."""
    return _registered(_paths, (path, is_dir))


def transfer() -> contextlib.AbstractContextManager[None]:
    """Registers the running asyncio task as a transfer that a SIGTERM cancels while the block runs."""
    install_termination_handler()
    task = asyncio.current_task()
    return _registered(_transfers, (task, task.get_loop())) if task is not None else contextlib.nullcontext()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if getattr(_in_handler, "active", False):
        return  # a handler installed after ours chained back to us: we already did our part
    _in_handler.active = True
    try:
        for task, loop in tuple(_transfers.values()):
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)  # thread-safe: each loop cancels its own
        remove_registered()
        previous = _previous
        if callable(previous):
            previous(signum, frame)  # Prefect's bridge raises TerminationSignal here; a user's does its own thing
        elif previous != signal.SIG_IGN:
            # The default action ends the process, now that nothing half-written is left.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
    finally:
        _in_handler.active = False


def install_termination_handler() -> bool:
    """Installs (from the main thread only; idempotent) the SIGTERM handler that cancels the running transfers and
    removes the temporary files, then hands the signal on; returns whether it is installed."""
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return signal.getsignal(signal.SIGTERM) is _on_sigterm
    with _lock:
        current = signal.getsignal(signal.SIGTERM)
        if current is _on_sigterm:
            return True
        try:
            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main interpreter
            return False
        _previous = current if current is not None else signal.SIG_DFL
    return True


def _forget_after_fork() -> None:
    # A forked child owns none of its parent's transfers: its handler must not remove them.
    global _lock
    _lock = threading.Lock()
    _paths.clear()
    _transfers.clear()


atexit.register(remove_registered)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
