"""The SQLite store file under a running process: its identity, its loss, its rescue.

A process remembers the identity (``st_dev``, ``st_ino``) of each store file it opened
(:class:`FileGuard`, one per path). The store asks the guard before and after every write
whether the path still names that file; when the file was deleted, replaced or truncated,
:func:`rescue` copies what the open connection still sees beside it, and
:func:`refuse_empty_over_rescued` keeps a later open from starting an empty store over
the rescued data.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ward_geo.errors import StoreFileChangedError

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.store.sqlite import SQLiteStore

__all__ = [
    "RESCUED_INFIX",
    "FileGuard",
    "FileLost",
    "create_private",
    "file_identity",
    "guard_for",
    "refuse_empty_over_rescued",
    "rescue",
    "rescued_copies",
]

log = logging.getLogger("ward_geo.store")
RESCUED_INFIX = ".rescued-"


class FileLost(Exception):
    """Internal: a write found the store file changed (turned into StoreFileChangedError)."""

    def __init__(self, problem: str, *, committed: bool = False) -> None:
        super().__init__(problem)
        self.problem, self.committed = problem, committed


class FileGuard:
    """What one process knows about one store file: its identity, its open stores, its loss.

    Lock order: a store's own lock first, then the guard's lock (never the other way).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.identity: tuple[int, int] | None = None
        self.had_content = False
        self.stores: list[SQLiteStore] = []
        self.problem: str | None = None
        self.rescued: str | None = None
        self.rescue_failed: str | None = None

    def message(self) -> str:
        """Why writes are refused, where the data went and what the operator should do."""
        where = (
            f"its data was rescued to {self.rescued} beside it"
            if self.rescued
            else f"rescuing its data failed ({self.rescue_failed})" if self.rescue_failed else "no rescue was possible"
        )
        todo = (
            f"stop the service, move {self.rescued} to {self.path.name}, and start again"
            if self.rescued
            else f"stop the service and restore {self.path.name} from a backup"
        )
        return f"the store file {self.path.name} {self.problem}; writes are refused; {where}; {todo}"

    def details(self) -> dict[str, Any]:
        """The loss as error details (file name only: no server path)."""
        return {"file": self.path.name, "problem": self.problem, "rescued_copy": self.rescued}

    def problem_now(self) -> str | None:
        """Why the path no longer names the opened file (None when it still does)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "was deleted"
        except OSError as exc:
            return f"cannot be checked ({exc.strerror or type(exc).__name__})"
        if (st.st_dev, st.st_ino) != self.identity:
            return "was replaced by another file"
        # Never open the file here: closing any descriptor of it would drop SQLite's POSIX locks
        # of this process. The size tells enough: a SQLite file is whole pages (of at least 512 B).
        if st.st_size % 512:
            return "was truncated or overwritten (its size is no whole number of pages)"
        if st.st_size == 0 and self.had_content:
            return "was truncated"
        self.had_content = self.had_content or st.st_size > 0
        return None


_GUARDS: dict[str, FileGuard] = {}
_GUARDS_LOCK = threading.Lock()


def guard_for(path: Path) -> FileGuard:
    """The guard of the store file ``path`` in this process (one per absolute path)."""
    key = os.path.abspath(path)
    with _GUARDS_LOCK:
        guard = _GUARDS.get(key)
        if guard is None:
            guard = _GUARDS[key] = FileGuard(Path(key))
        return guard


def file_identity(path: Path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of ``path``, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def rescued_copies(path: str | Path) -> list[Path]:
    """The rescued copies of the store file ``path`` lying beside it, oldest first."""
    path = Path(path)
    try:
        return sorted(path.parent.glob(path.name + RESCUED_INFIX + "*"))
    except OSError:
        return []


def refuse_empty_over_rescued(path: str | Path) -> None:
    """Refuse to create a new empty store at ``path`` while a rescued copy lies beside it.

    Raises
    ------
    StoreFileChangedError
        ``path`` is missing and ``<name>.rescued-*`` exists; the message says what to do.
    """
    path = Path(path)
    if path.exists():
        return
    copies = rescued_copies(path)
    if copies:
        name, newest = path.name, copies[-1].name
        raise StoreFileChangedError(
            f"the store file {name} is missing but the rescued copy {newest} lies beside it (saved when the "
            "file disappeared under a running service); refusing to start an empty store. "
            f"Move {newest} to {name} to continue with its data, or move the rescued copies elsewhere "
            "to start an empty store",
            details={"file": name, "rescued_copies": [c.name for c in copies]},
        )


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (no-op when it exists)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)



def rescue(conn: sqlite3.Connection | None, path: Path, guard: FileGuard, timeout: float) -> None:
    """Copy what ``conn`` sees to ``<name>.rescued-<UTC>`` beside ``path`` (0600) and log where.

    Parameters
    ----------
    conn : sqlite3.Connection or None
        The open connection of a store of the lost file (None: nothing to rescue).
    path : Path
        The store file.
    guard : FileGuard
        Its guard; ``rescued`` or ``rescue_failed`` is set.
    timeout : float
        The busy timeout (seconds) to restore on the connection.
    """
    if conn is None:
        guard.rescue_failed = "the store was already closed"
        return
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}{RESCUED_INFIX}{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{RESCUED_INFIX}{stamp}-{n}")
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        create_private(target)
        dest = sqlite3.connect(str(target), isolation_level=None)
        try:
            conn.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            try:
                rows = dest.execute("SELECT count(*) FROM incidents").fetchone()[0]
            except sqlite3.Error:
                rows = None
        finally:
            dest.close()
    except (sqlite3.Error, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        guard.rescue_failed = f"{type(exc).__name__}: {reason}"  # no server path: it reaches clients
        log.error(
            "store file changed under the running process; rescue failed",
            extra={"fields": {"path": str(path), "problem": guard.problem, "error": guard.rescue_failed}},
        )
        return
    guard.rescued = target.name
    # Empty the log on disk: it belongs to the lost file, not to whatever now lies at the path.
    # Without waiting: a writer still inside a transaction will rescue (and empty it) again.
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        log.warning("could not empty the write-ahead log of the lost store file", exc_info=True)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    log.error(
        "store file changed under the running process; data rescued",
        extra={"fields": {"path": str(path), "problem": guard.problem, "rescued_to": str(target),
                          "incidents": rows}},
    )
