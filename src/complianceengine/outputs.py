"""Writing outputs safely: never over an input, and atomically.

A report (text, or a workbook's bytes), a rejects file or a lint result is written to a temporary file beside its target and
renamed over it, so an interrupted write (a crash, Ctrl-C, a full disk) leaves the previous file
as it was. Before anything is written, every output path is compared with every input the run
read (by resolved path and, for existing files, by device and inode, so a hard link or a
symbolic link to an input is caught too) and with the other outputs.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import queue
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .errors import UsageError

__all__ = ["open_atomically", "refuse_overwriting", "utf8_bytes", "write_atomically"]


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overwriting(outputs: Mapping[str, Path | None], inputs: Iterable[Path]) -> None:
    """Raise :class:`UsageError` when an output (option name -> path) is one of the ``inputs`` or
    another output."""
    dashes = [option for option, path in outputs.items() if path is not None and str(path) == "-"]
    if len(dashes) > 1:
        raise UsageError(f"{' and '.join(dashes)} both name standard output (-); give each its own file")
    given = [(option, path) for option, path in outputs.items() if path is not None and str(path) != "-"]
    read = [source for source in inputs if str(source) != "-"]
    for option, path in given:
        for source in read:
            if _same(path, source):
                raise UsageError(f"{option} {path} is one of the inputs ({source}); choose another file, nothing was written")
    for i, (option, path) in enumerate(given):
        for other, second in given[i + 1 :]:
            if _same(path, second):
                raise UsageError(f"{option} and {other} name the same file ({path}); give each its own file")


def write_atomically(path: str | Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (UTF-8; one string or its pieces in order) to ``path`` through a temporary
    file renamed over it (see :func:`open_atomically`)."""
    with open_atomically(path) as out:
        out.writelines([text] if isinstance(text, str) else text)


@contextlib.contextmanager
def open_atomically(path: str | Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A stream writing ``path`` (UTF-8 text, or bytes when ``binary``) through a temporary file
    beside it, renamed over it when the block ends and removed if the block raises, so the
    previous file stays as it was. A path that is not a regular file (``/dev/stdout``, a pipe, a
    device) is written to directly: renaming over it would replace it; a symbolic link is followed,
    so the link stays and the file it points to is replaced."""
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "wb") if binary else open(path, "w", encoding="utf-8") as stream:
            yield stream
        return
    target = Path(os.path.realpath(path))
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    raw: _WrittenBack | None = None
    try:
        raw = _WrittenBack(handle, "w")
        buffered = _Drained(raw, buffer_size=1 << 20)
        made: IO[Any] = buffered if binary else io.TextIOWrapper(buffered, encoding="utf-8")
        if not binary:
            made.mode = "w"  # type: ignore[misc]  # as open() and os.fdopen() say it (a caller may look)
            _UTF8_TEXT.add(made)
        with made as out:
            yield out
            out.flush()  # what the writing thread holds, written (or its error raised here)
            os.fsync(out.fileno())
        # mkstemp makes the file private; give it the mode a plain open() would have
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        if raw is not None:  # its thread stopped and the file closed, whatever failed
            raw.close()
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class _Drained(io.BufferedWriter):
    """A buffered writer over a :class:`_WrittenBack` whose ``flush`` also waits for the file's
    writing thread, as a flush of an ordinary file puts the bytes in the file (a caller may then
    use the file descriptor: its size, a subprocess writing to it)."""

    def flush(self) -> None:
        super().flush()
        raw = self.raw
        if isinstance(raw, _WrittenBack) and not raw.closed:
            raw.drain()


#: the text streams :func:`open_atomically` made (UTF-8, each line end as the system writes it)
_UTF8_TEXT: weakref.WeakSet[IO[Any]] = weakref.WeakSet()


def utf8_bytes(stream: IO[str]) -> IO[bytes] | None:
    """The byte stream under the text stream ``stream`` when writing a text's UTF-8 bytes there
    writes what the text written to ``stream`` would (flush ``stream`` first): a text stream of
    :func:`open_atomically` or the process's standard output, when it encodes UTF-8 and the
    system's line end is a line feed (nothing is translated); else ``None``. A writer of a large
    UTF-8 text (the JSON report) skips making a text of it and encoding it again."""
    try:
        ours = stream in _UTF8_TEXT
    except TypeError:  # a stream that cannot be hashed: not one of ours
        ours = False
    if os.linesep != "\n" or not (ours or (stream is sys.__stdout__ and stream is sys.stdout)):
        return None
    encoding, under = getattr(stream, "encoding", None), getattr(stream, "buffer", None)
    try:
        utf8 = isinstance(encoding, str) and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    return under if utf8 and under is not None else None


#: bytes written between two requests to start writing them back
WRITE_BACK_EVERY = 1 << 25
#: writes handed to a file's writing thread and not yet written, at most (each up to a megabyte or so)
_AHEAD = 8
_ADVISE = getattr(os, "posix_fadvise", None)


class _WrittenBack(io.FileIO):
    """A file written by a thread of its own, which asks the kernel to start writing what it holds
    to disk after every :data:`WRITE_BACK_EVERY` bytes (``posix_fadvise``, where there is one), so
    that a large report goes to disk while the rest is being made: the thread's writes run while
    the caller makes the next pieces (a write lets other threads run), and the ``fsync`` at the end
    waits for little (a 1.1 GB report: 2 s of its 12 s). The written pages are dropped from the
    page cache too. :meth:`write` hands over a copy and returns (:meth:`seek`, :meth:`tell` and
    :meth:`truncate` wait for what was handed over); an error of the thread's is raised
    by every :meth:`write` after it and by :meth:`drain` (which waits for every write handed
    over), and what is handed over after it is not written (the file is given up); :meth:`close`
    waits for the thread and raises nothing (it runs while another error is raised, too)."""

    _pending = 0
    _advised = _ADVISE is not None

    def __init__(self, file: int, mode: str) -> None:
        super().__init__(file, mode)
        self._queue: queue.Queue[bytes | None] = queue.Queue(_AHEAD)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="complianceengine-write", daemon=True)
        self._thread.start()

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        self._raise()
        copy = bytes(data)  # the caller's buffer is its own again when this returns
        self._queue.put(copy)
        return len(copy)

    def drain(self) -> None:
        """Wait until every write handed over is done; raise the thread's error, if any."""
        self._queue.join()
        self._raise()

    # what depends on the file's position waits for the writes handed over (a workbook's zip
    # seeks back to fill in its headers)
    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        self.drain()
        return super().seek(pos, whence)

    def tell(self) -> int:
        self.drain()
        return super().tell()

    def truncate(self, size: int | None = None) -> int:
        self.drain()
        return super().truncate(size)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        super().close()

    def _raise(self) -> None:
        if self._failed is not None:
            raise self._failed  # as the write raised it (a full disk's OSError keeps its errno)

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if data is None:
                    return
                if self._failed is None:  # after an error, what follows is dropped: the file is given up
                    self._write(data)
            except BaseException as exc:  # handed to the caller's thread
                self._failed = exc
            finally:
                self._queue.task_done()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = super().write(view)
            if written is None:  # a non-blocking file not ready: not one that open_atomically opens
                raise BlockingIOError("the output file took no bytes")
            view = view[written:]
            self._pending += written
        if self._pending >= WRITE_BACK_EVERY and self._advised and _ADVISE is not None:
            self._pending = 0
            try:
                _ADVISE(self.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:  # a file system that takes no advice: the fsync at the end does it all
                self._advised = False


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
