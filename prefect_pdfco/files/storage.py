"""Where downloads land: a local directory or a Prefect storage block, always through a temporary file; and the
sinks a transfer writes into (``FileSink`` for that temporary file, ``MemorySink`` for results read into memory).

Every download is staged in a temporary file and only then delivered, so no reader ever sees a partial file:

- a directory (``str``/``Path``) or a ``LocalFileSystem`` block: the temporary file is created in the
  destination directory itself (same file system), flushed, fsynced and ``os.replace``-d onto the final name;
- an object-storage block with ``upload_from_path`` (prefect-aws ``S3Bucket``, prefect-gcp ``GcsBucket``,
  prefect-azure ``AzureBlobStorageContainer``): staged in a private temporary directory, then uploaded from
  disk by the block (streamed, whatever the size);
- a ``RemoteFileSystem`` block: staged likewise, then ``put_file`` through its fsspec file system (streamed);
- any other block with ``write_path(path, content: bytes)``: staged likewise, then handed over as bytes. That
  interface takes the whole content at once, so only there does memory grow with the file.

The temporary file is removed in ``finally`` whatever happens, cancellation included; a SIGTERM removes it
too, and a SIGKILL's leftovers are swept by the next transfer into the same place (see ``tempfiles``).
Failures of the destination itself (not a directory, read-only, full, a block that refuses the file) surface
as ``OSError`` or ``DeliveryFailed``, which ``links.land`` turns into ``DestinationError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

import anyio
import anyio.to_thread
from prefect.filesystems import LocalFileSystem, RemoteFileSystem, WritableFileSystem

from prefect_pdfco._redact import escape_control, safe_url
from prefect_pdfco.exceptions import InvalidParametersError, ResultTooLargeError
from prefect_pdfco.files import tempfiles as _tempfiles
from prefect_pdfco.files.names import path_inside

__all__ = [
    "DeliveryFailed",
    "Destination",
    "FileSink",
    "MemorySink",
    "Staging",
    "Target",
    "UploadsFromPath",
    "WritesPath",
    "describe",
    "resolve_destination",
    "staging",
]


class UploadsFromPath(Protocol):
    """An object-storage block that uploads a local file itself (prefect-aws ``S3Bucket``, prefect-gcp
    ``GcsBucket``, prefect-azure ``AzureBlobStorageContainer``): matched by its method, not its class."""

    def upload_from_path(self, *args: Any, **kwargs: Any) -> Any: ...


class WritesPath(Protocol):
    """Any other block with ``write_path(path, content)``: it gets the file's bytes in one piece."""

    def write_path(self, *args: Any, **kwargs: Any) -> Any: ...


if TYPE_CHECKING:
    #: A directory, or a Prefect storage block (see the module docstring for what each kind gets). Blocks are
    #: told apart by the methods they have, as ``resolve_destination`` does.
    Destination: TypeAlias = str | os.PathLike[str] | WritableFileSystem | UploadsFromPath | WritesPath
else:
    # Prefect validates flow parameters with pydantic, which cannot check a Protocol: resolve_destination does.
    Destination = Any

TargetKind = Literal["directory", "upload_from_path", "fsspec", "write_path"]


@dataclass(frozen=True)
class Target:
    """A resolved destination: a local directory, or a block and how to hand files to it."""

    kind: TargetKind
    directory: Path | None = None
    block: Any = None


def describe(target: Target) -> str:
    """The destination in words, for messages: the directory, or the kind of block."""
    if target.directory is not None:
        return escape_control(str(target.directory))
    return f"the {type(target.block).__name__} block"


class DeliveryFailed(Exception):
    """A storage block refused the staged file (whatever it raised is the ``__cause__``)."""


def resolve_destination(destination: object, *, caller: str = "download_result") -> Target:
    """Works out how to deliver files to ``destination``.

    Raises:
        InvalidParametersError: Neither a path nor a block with ``upload_from_path`` or ``write_path`` (also a
            ``ValueError``); ``caller`` names the function in the message.
    """
    if isinstance(destination, (str, os.PathLike)):
        return Target("directory", directory=Path(os.fspath(destination)).expanduser())
    if isinstance(destination, LocalFileSystem):
        # Same resolution as LocalFileSystem itself: basepath, else the working directory.
        base = Path(destination.basepath).expanduser() if destination.basepath else Path(".")
        return Target("directory", directory=base.resolve())
    if callable(getattr(destination, "upload_from_path", None)):
        return Target("upload_from_path", block=destination)
    if isinstance(destination, RemoteFileSystem):
        return Target("fsspec", block=destination)
    if callable(getattr(destination, "write_path", None)):
        return Target("write_path", block=destination)
    raise InvalidParametersError(
        caller,
        [
            "destination: expected a directory path or a Prefect storage block with upload_from_path or "
            f"write_path (LocalFileSystem, RemoteFileSystem, S3Bucket...), got {type(destination).__name__}"
        ],
    )


async def _call_block(block: Any, method: str, *args: Any) -> Any:
    """Calls a block method without blocking the event loop: its async twin (``a<method>``) when it has one,
    else the sync method in a worker thread (where Prefect's dual sync/async methods run synchronously)."""
    twin = getattr(block, f"a{method}", None)
    if twin is not None and inspect.iscoroutinefunction(twin):
        return await twin(*args)
    result = await anyio.to_thread.run_sync(functools.partial(getattr(block, method), *args))
    if inspect.isawaitable(result):  # an older sync_compatible method may still hand back a coroutine
        result = await result
    return result


def _put_with_fsspec(block: RemoteFileSystem, local: str, name: str) -> str:
    remote: str = block._resolve_path(name)  # the block's own resolution and base-path containment checks
    parent = remote.rsplit("/", 1)[0]
    block.filesystem.makedirs(parent, exist_ok=True)
    block.filesystem.put_file(local, remote)
    return remote


class Staging:
    """A temporary file being filled, and the one way to deliver it under its final name.

    Attributes:
        handle: The open temporary file (binary, read/write).
        path: Its path.
    """

    def __init__(self, target: Target, handle: anyio.AsyncFile[bytes], path: Path) -> None:
        self.target = target
        self.handle = handle
        self.path = path
        self.delivered = False

    async def deliver(self, name: str, *, durable: bool = False) -> str:
        """Puts the staged file at ``name`` (already sanitised) in the destination and returns where it is.

        In a directory, ``durable`` fsyncs the file before the rename (see ``_land_in_directory``).

        Returns:
            The absolute local path, or the path the block reports (within the block).
        """
        target = self.target
        if target.kind == "directory":
            assert target.directory is not None
            final = path_inside(target.directory, name)
            # One hop to a worker thread for the whole landing: a batch lands hundreds of small files at once.
            await anyio.to_thread.run_sync(_land_in_directory, self.handle.wrapped, self.path, final, durable)
            self.delivered = True
            return str(final)
        await self.handle.aclose()
        try:
            if target.kind == "upload_from_path":
                where = await _call_block(target.block, "upload_from_path", str(self.path), name)
            elif target.kind == "fsspec":
                where = await anyio.to_thread.run_sync(_put_with_fsspec, target.block, str(self.path), name)
            else:
                content = await anyio.Path(self.path).read_bytes()
                where = await _call_block(target.block, "write_path", name, content)
        except Exception as error:
            raise DeliveryFailed(f"it refused the file ({type(error).__name__}: {error})") from error
        self.delivered = True
        return where if isinstance(where, str) and where else name


@asynccontextmanager
async def staging(target: Target) -> AsyncIterator[Staging]:
    """A temporary file for ``target``, removed on exit (a delivered one was renamed away already).

    In a destination directory the file is hidden (``.pdfco-<owner>-*.part``) and created with ``mkstemp``
    (mode 0600, a name nobody can predict); for blocks it lives in a private temporary directory. Leftovers of
    dead processes in the same place are swept first, and the new file is registered for removal on SIGTERM.
    """
    # Unwound in reverse: the file is removed before it is unregistered, the private directory last.
    with contextlib.ExitStack() as cleanup:
        if target.directory is not None:
            directory = target.directory
            await anyio.to_thread.run_sync(_prepare_directory, directory)
        else:
            await anyio.to_thread.run_sync(_tempfiles.sweep_private_dirs)
            directory = await anyio.to_thread.run_sync(_tempfiles.new_private_dir)
            cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
            cleanup.enter_context(_tempfiles.track(directory, is_dir=True))
        fd, path = _tempfiles.new_part_file(directory)
        cleanup.enter_context(_tempfiles.track(path))
        # Whatever happens (error, cancellation), no partial file stays behind. Sync calls on purpose: a
        # cancelled task must not be interrupted again while it cleans up.
        cleanup.callback(_unlink_if_there, path)
        handle = anyio.wrap_file(open(fd, "w+b"))  # noqa: ASYNC230, SIM115  # an fd: no blocking I/O
        cleanup.callback(handle.wrapped.close)  # before the unlink: a close costs no hop, and cannot be cancelled
        yield Staging(target, handle, path)


def _land_in_directory(file: Any, path: Path, final: Path, durable: bool = False) -> None:
    """Puts the staged file ``path`` (open as ``file``) at ``final`` and closes it; ``durable``: fsynced first.

    Without the fsync the rename is still atomic for every reader and survives the process's death, but a crash
    of the machine (power, kernel) shortly after may leave the name pointing at an empty or partial file. The
    fsync costs the disk's write time of the whole file (about 2.5 s per GiB on this machine's disk).
    """
    file.flush()
    if durable:
        # The bytes must be on disk before the name points at them, or a crash could leave an empty file.
        os.fsync(file.fileno())
    # mkstemp made it 0600 while it was partial; a landed result gets the mode any new file would get.
    os.chmod(path, _default_file_mode())
    if os.name == "nt":
        file.close()  # Windows cannot rename an open file
    # Elsewhere the owner's lock stays held until the name is final, so no sweep can take the file.
    os.replace(path, final)
    file.close()


def _prepare_directory(directory: Path) -> None:
    """Creates the destination directory and sweeps what dead processes left there (one hop for both)."""
    directory.mkdir(parents=True, exist_ok=True)
    _tempfiles.sweep(directory)


def _unlink_if_there(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # after os.replace the name is gone already
        os.unlink(path)


@functools.cache
def _default_file_mode() -> int:
    """0o666 less the process umask, read once.

    Linux reports the umask in /proc without changing it; elsewhere ``os.umask`` can only be read by setting
    it, which briefly affects other threads, so that happens once.
    """
    try:
        with open("/proc/self/status") as status:
            mask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


# --- where a transfer's bytes go (see ``transfer.Sink``) ------------------------------------------------------


Feed: TypeAlias = "Callable[[Sequence[bytes]], None] | None"


def _write_batch(file: Any, chunks: Sequence[bytes], feed: Feed) -> None:
    if feed is not None:
        feed(chunks)
    file.writelines(chunks)


def _retrieve(task: asyncio.Task[None]) -> None:
    # A write still running when its transfer failed finds the file closed: nothing awaits it any more.
    if not task.cancelled():
        task.exception()


class FileSink:
    """Writes to an open binary file (a temporary file that is renamed only once complete): any size.

    Each batch (about 1 MiB) is written, and fed to the digests, in a worker thread while the event loop
    gathers the next one: one hop per batch, at most one batch in flight. The staging's cleanup closes the
    file: a write in flight then fails (the buffered file's lock makes the close wait for the current one).
    """

    def __init__(self, handle: anyio.AsyncFile[bytes]) -> None:
        self.handle = handle
        self._pending: asyncio.Task[None] | None = None

    def expect(self, size: int) -> None:
        """Takes any size: the disk says when it is full."""

    async def write(self, chunks: Sequence[bytes], digest: Feed = None) -> None:
        """Waits for the previous batch (raising its error), then starts writing ``chunks`` in a worker thread."""
        await self.flush()
        # anyio's thread call is not abandoned when cancelled: whoever awaits it waits for the write to end.
        self._pending = asyncio.ensure_future(
            anyio.to_thread.run_sync(_write_batch, self.handle.wrapped, chunks, digest)
        )
        self._pending.add_done_callback(_retrieve)

    async def flush(self) -> None:
        """Waits until every batch is written."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def reset(self) -> None:
        """Truncates the file to zero bytes."""
        await self.flush()
        await self.handle.seek(0)
        await self.handle.truncate()


class MemorySink:
    """Collects at most ``limit`` bytes in memory, for text and JSON results."""

    def __init__(self, limit: int, url: str) -> None:
        self.limit = limit
        self.url = url
        self.data = bytearray()

    def too_large(self, size: int) -> ResultTooLargeError:
        """The error for a result of ``size`` bytes (or more)."""
        return ResultTooLargeError(
            f"the result is {size:,} bytes or more, over the limit of {self.limit:,} bytes for fetching it into "
            "memory; download it to a file with download_result instead",
            url=safe_url(self.url),
            limit=self.limit,
        )

    def expect(self, size: int) -> None:
        """Refuses a result announced as larger than the limit, before any of it is read."""
        if size > self.limit:
            raise self.too_large(size)

    async def write(self, chunks: Sequence[bytes], digest: Feed = None) -> None:
        """Appends ``chunks``, refusing to grow past the limit."""
        size = len(self.data) + sum(len(chunk) for chunk in chunks)
        if size > self.limit:
            raise self.too_large(size)
        if digest is not None:
            digest(chunks)
        for chunk in chunks:
            self.data += chunk

    async def flush(self) -> None:
        """Nothing to wait for: the buffer is in memory."""

    async def reset(self) -> None:
        """Empties the buffer."""
        self.data.clear()
