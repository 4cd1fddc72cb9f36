"""Temporary files of transfers: removed on error, cancellation and SIGTERM; swept after a SIGKILL.

Three layers, because no one of them covers every way a process ends:

- ``staging`` (in ``storage``) removes its file in ``finally``: errors and cancellation (Prefect's included).
- A SIGTERM's default action ends the process without running any ``finally``, and a download usually runs
  in a thread of its own (Prefect runs an async task called from a sync flow in its event-loop thread). So
  every temporary file is registered here, and while a transfer is in progress a SIGTERM handler (installed
  from the main thread, the only one Python lets install handlers) unlinks the registered files and then
  hands the signal on to the previous handler: Prefect's (which turns it into a crash or cancellation of the
  flow run), a user's, or the default (the process then ends as it would have). ``atexit`` does the same for a
  normal exit that abandons a download in a daemon thread.
- A SIGKILL runs nothing. Temporary names therefore say who owns them:
  ``.pdfco-<host>-<boot>-<pid>-<start>-<random>.part``, with a hash of the host name, a hash of the boot id,
  the process id and its start time (from ``/proc``, so a reused pid is told apart). The owner also holds an
  ``flock`` on the open file. The next transfer into the same directory (or, for storage blocks, the next one
  staged in the system's temporary directory) removes the files of owners that are dead: same host, and a
  previous boot, or a pid that is gone or now belongs to a younger process, and no lock held. Files of other
  machines on a shared directory are left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from prefect.cache_policies import NO_CACHE
from typing_extensions import ParamSpec

from prefect_pdfco._tasks import SyncCompatibleTask

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; names alone tell owners apart
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "PART_PREFIX",
    "PART_SUFFIX",
    "SWEEP_INTERVAL",
    "new_part_file",
    "new_private_dir",
    "owner_tag",
    "registered",
    "remove_registered",
    "sweep",
    "sweep_private_dirs",
    "termination_cleanup",
    "track",
    "transfer_task",
]

PART_PREFIX = ".pdfco-"
PART_SUFFIX = ".part"
_DIR_PREFIX = "pdfco-"
#: A directory is swept at most this often per process: a listing per download would cost in big folders.
SWEEP_INTERVAL = 60.0
_OWNER = r"(?P<host>[0-9a-f]{8})-(?P<boot>[0-9a-f]{8}|0)-(?P<pid>\d+)-(?P<start>\d+)-[A-Za-z0-9_]+"
_PART_NAME = re.compile(rf"^{re.escape(PART_PREFIX)}{_OWNER}{re.escape(PART_SUFFIX)}$")
_DIR_NAME = re.compile(rf"^{re.escape(_DIR_PREFIX)}{_OWNER}$")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@functools.cache
def _host() -> str:
    return _short_hash(socket.gethostname())


@functools.cache
def _boot() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return _short_hash(handle.read().strip())
    except OSError:
        return "0"


def _start_time(pid: int) -> int:
    """The start time of ``pid`` in clock ticks since boot (Linux), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        # Field 22; the command name (field 2) may hold spaces and parentheses, so count from its end.
        return int(stat.rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def owner_tag() -> str:
    """``<host>-<boot>-<pid>-<start>`` of this process (computed each time: a forked child differs)."""
    pid = os.getpid()
    return f"{_host()}-{_boot()}-{pid}-{_start_time(pid)}"


def _owner_is_dead(match: re.Match[str]) -> bool:
    if match["host"] != _host():
        return False  # another machine sharing this directory: we cannot know
    if match["boot"] != "0" and _boot() != "0" and match["boot"] != _boot():
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
    return start != 0 and _start_time(pid) not in (0, start)


def _unlocked(path: Path) -> bool:
    """Whether nobody holds the owner's lock on ``path`` (a live owner always does while writing)."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases our probe lock


def lock(fd: int) -> None:
    """Takes the owner's lock on a new temporary file (best effort: some file systems have no locks)."""
    if fcntl is None:  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


_last_sweep: dict[str, float] = {}
_sweep_lock = threading.Lock()


def _due(directory: Path) -> bool:
    key = os.path.abspath(directory)
    now = time.monotonic()
    with _sweep_lock:
        last = _last_sweep.get(key)
        if last is not None and now - last < SWEEP_INTERVAL:
            return False
        _last_sweep[key] = now
        return True


def _dead_entries(directory: Path, name: re.Pattern[str], force: bool) -> list[os.DirEntry[str]]:
    """The entries of ``directory`` whose names say a dead owner left them; none when it was swept within
    ``SWEEP_INTERVAL`` (unless ``force``) or cannot be listed."""
    if not _due(directory) and not force:
        return []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    return [entry for entry in entries if (match := name.match(entry.name)) is not None and _owner_is_dead(match)]


def sweep(directory: Path, *, force: bool = False) -> list[Path]:
    """Removes the ``.pdfco-*.part`` files that dead owners left in ``directory``; returns what it removed.

    At most once per ``SWEEP_INTERVAL`` per directory and process, unless ``force``. Never raises.
    """
    removed: list[Path] = []
    for entry in _dead_entries(directory, _PART_NAME, force):
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and _unlocked(path):
                path.unlink()
                removed.append(path)
    return removed


def sweep_private_dirs(parent: str | None = None, *, force: bool = False) -> list[Path]:
    """Removes the private staging directories (``pdfco-*``) of dead owners in the temporary directory."""
    removed: list[Path] = []
    for entry in _dead_entries(Path(parent or tempfile.gettempdir()), _DIR_NAME, force):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def new_part_file(directory: Path) -> tuple[int, Path]:
    """A new, locked, owner-stamped temporary file in ``directory`` (``mkstemp``: mode 0600, unpredictable)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=f"{PART_PREFIX}{owner_tag()}-", suffix=PART_SUFFIX)
    lock(fd)
    return fd, Path(name)


def new_private_dir() -> Path:
    """A new owner-stamped private directory in the system's temporary directory."""
    return Path(tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{owner_tag()}-"))


# --- what is in flight, and who removes it when the process is told to end -------------------------------------

# id -> (path, is a directory). Written under _registry_lock; the signal handler only copies it, because it
# may run in the main thread while that thread holds the lock.
_active: dict[int, tuple[Path, bool]] = {}
_registry_lock = threading.Lock()
_handler_lock = threading.Lock()
_handler_depth = 0
_previous_handler: Any = signal.SIG_DFL


def registered() -> list[Path]:
    """The temporary paths of the transfers in progress in this process."""
    return [path for path, _ in tuple(_active.values())]


def remove_registered() -> None:
    """Removes every registered temporary file and directory now (signal handler and ``atexit``)."""
    for path, is_dir in tuple(_active.values()):
        if is_dir:
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


@contextlib.contextmanager
def track(path: Path, *, is_dir: bool = False) -> Iterator[None]:
    """Registers ``path`` for removal on SIGTERM and exit while the block runs, with the handler installed when
    this runs in the main thread."""
    key = id(path)
    with _registry_lock:
        _active[key] = (path, is_dir)
    try:
        with termination_cleanup():
            yield
    finally:
        with _registry_lock:
            _active.pop(key, None)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    remove_registered()
    previous = _previous_handler
    if callable(previous):
        previous(signum, frame)  # Prefect's bridge raises TerminationSignal here; a user's does its own thing
    elif previous != signal.SIG_IGN:
        # The default action: end the process, now that nothing half-written is left.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install() -> bool:
    global _handler_depth, _previous_handler
    if threading.current_thread() is not threading.main_thread():
        return False
    with _handler_lock:
        if _handler_depth == 0:
            try:
                current = signal.getsignal(signal.SIGTERM)
                if current is not _on_sigterm:  # still ours from an earlier scope: keep what it chains to
                    signal.signal(signal.SIGTERM, _on_sigterm)
                    _previous_handler = current if current is not None else signal.SIG_DFL
            except ValueError:  # not the main interpreter
                return False
        _handler_depth += 1
    return True


def _uninstall() -> None:
    global _handler_depth
    with _handler_lock:
        if _handler_depth == 0:
            return  # entered before a fork; the child starts afresh
        _handler_depth -= 1
        if _handler_depth == 0 and signal.getsignal(signal.SIGTERM) is _on_sigterm:
            with contextlib.suppress(ValueError):  # left in another thread: ours stays, and only chains
                signal.signal(signal.SIGTERM, _previous_handler)
        # Otherwise someone installed a handler over ours and may chain to it later: ours stays valid (with
        # nothing registered it only hands the signal on).


@contextlib.contextmanager
def termination_cleanup() -> Iterator[None]:
    """While the block runs, a SIGTERM removes the registered temporary files before its usual effect.

    Installs the handler only from the main thread (elsewhere this does nothing): enter it where a call
    starts in the main thread when the transfer itself will run in another thread (the file tasks do).
    """
    installed = _install()
    try:
        yield
    finally:
        if installed:
            _uninstall()


# Transfers retry inside the task (resuming where they broke off): a Prefect retry would start from zero.
# NO_CACHE: a download's effect is a file that may since have been deleted, and a cache key would hash the
# credentials block. Results are not persisted: a fetched text can be 50 MB.
_TRANSFER_OPTIONS: dict[str, Any] = {"retries": 0, "cache_policy": NO_CACHE, "persist_result": False}
P = ParamSpec("P")
R = TypeVar("R")


class _TransferTask(SyncCompatibleTask[P, R]):
    """A file task that, called from the main thread, arms ``termination_cleanup`` for the duration of the
    call: from a sync flow the transfer itself runs in Prefect's event-loop thread, where no signal handler
    can be installed."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        with termination_cleanup():
            return super().__call__(*args, **kwargs)


def transfer_task(
    task_run_name: Callable[[], str],
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], _TransferTask[P, R]]:
    """Makes a file task of an ``async def``: SIGTERM-safe from sync flows, not retried by Prefect (it retries
    and resumes inside), not cached, its result not persisted."""
    return lambda fn: _TransferTask(fn=fn, task_run_name=task_run_name, **_TRANSFER_OPTIONS)


def _forget_after_fork() -> None:
    # A forked child owns none of its parent's transfers: its handler must not remove them.
    global _handler_depth
    _active.clear()
    _handler_depth = 0


atexit.register(remove_registered)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
