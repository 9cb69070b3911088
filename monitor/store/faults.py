"""Driver errors to ``StoreError``, for both engines, at the one boundary (the ``Database``
implementations): one line naming the database (never a login) and what to do, and a ``kind``.

| driver error                                              | kind        |
|-----------------------------------------------------------|-------------|
| SQLITE_FULL; OSError ENOSPC, EDQUOT; PostgreSQL 53xxx     | full        |
| SQLITE_READONLY, CANTOPEN, PERM, AUTH; OSError EACCES, EPERM, EROFS; PostgreSQL 42501, 25006, 28xxx | permission |
| SQLITE_CORRUPT, NOTADB; PostgreSQL XX001, XX002           | corrupt     |
| SQLITE_BUSY, LOCKED; PostgreSQL 55P03, 57014, 40P01, 40001 | busy       |
| SQLITE_IOERR; other OSError                               | io          |
| PostgreSQL 08xxx, 57P01-57P03, no SQLSTATE (connection lost, pool timeout) | unreachable |
| anything else                                             | other       |

A SQLite permission problem is explained from the file system: which of the database's folder,
file, ``-wal`` and ``-shm`` this process cannot write, who owns it, and which uid the monitor runs
as (the container runs as 10001, and a root-owned bind mount is the usual cause).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from monitor.errors import StoreError

_SQLITE_KINDS = {
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_READONLY: "permission",
    sqlite3.SQLITE_CANTOPEN: "permission",
    sqlite3.SQLITE_PERM: "permission",
    sqlite3.SQLITE_AUTH: "permission",
    sqlite3.SQLITE_CORRUPT: "corrupt",
    sqlite3.SQLITE_NOTADB: "corrupt",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_IOERR: "io",
}
_OS_KINDS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.EROFS: "permission",
}
_PG_KINDS = {  # SQLSTATE, or its class (first two characters)
    "53": "full",
    "42501": "permission",
    "25006": "permission",
    "28": "permission",
    "XX001": "corrupt",
    "XX002": "corrupt",
    "55P03": "busy",
    "57014": "busy",
    "40P01": "busy",
    "40001": "busy",
    "08": "unreachable",
    "57P01": "unreachable",
    "57P02": "unreachable",
    "57P03": "unreachable",
}


def store_error(error: Exception, database: Path | str) -> StoreError:
    """The StoreError for a driver error raised while using ``database`` (a SQLite file's path, or
    where a PostgreSQL database is: ``pgdb.where``)."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, sqlite3.Error | OSError):
        path = Path(database)
        if isinstance(error, OSError):
            kind = _OS_KINDS.get(error.errno or 0, "io")
            text = error.strerror or text
        else:
            kind = _SQLITE_KINDS.get(getattr(error, "sqlite_errorcode", -1) & 0xFF, "other")
        return StoreError(_sqlite_message(kind, path, text), kind)
    import psycopg  # anything else comes from PostgreSQL, so psycopg is loaded already

    state = (error.sqlstate if isinstance(error, psycopg.Error) else None) or ""
    lost = not state and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)  # PoolTimeout too
    kind = _PG_KINDS.get(state) or _PG_KINDS.get(state[:2]) or ("unreachable" if lost else "other")
    return StoreError(_postgres_message(kind, str(database), text), kind)


def _sqlite_message(kind: str, path: Path, text: str) -> str:
    folder = path.parent
    if kind == "full":
        return f"the database {path} cannot grow ({text}): free space on the disk holding {folder}"
    if kind == "permission":
        why = unwritable(path) or f"{text}; check that {folder} is a folder this user can write"
        return f"cannot write the database {path}: {why}"
    if kind == "corrupt":
        return (
            f"the database {path} is damaged ({text}): stop the monitor, put back the latest backup "
            f"(README, Backups) and delete {path.name}-wal and {path.name}-shm beside it"
        )
    if kind == "busy":
        return (
            f"the database {path} is locked by another process ({text}): another monitor or a sqlite3 "
            "shell is writing; the next attempt retries"
        )
    if kind == "io":
        return f"cannot read or write the database {path} ({text}): check the disk, and that {folder} is not NFS/SMB"
    return f"the database {path} failed: {text}"


def _postgres_message(kind: str, where: str, text: str) -> str:
    if kind == "full":
        return f"PostgreSQL at {where} is out of space ({text}): free space on the database server"
    if kind == "permission":
        return (
            f"PostgreSQL at {where} refuses the write ({text}): connect to the primary as a role that "
            "owns the monitor's tables"
        )
    if kind == "corrupt":
        return f"PostgreSQL at {where} reports damaged data ({text}): restore the database from a backup"
    if kind == "busy":
        return f"PostgreSQL at {where} is busy ({text}): a lock or statement waited too long; the next attempt retries"
    if kind == "unreachable":
        return f"lost PostgreSQL at {where} ({text}): check that the server runs; the next attempt reconnects"
    return f"PostgreSQL at {where}: {text}"


def unwritable(path: Path) -> str | None:
    """Why this process cannot write the SQLite file ``path`` (SQLite also writes the ``-wal`` and
    ``-shm`` files beside it, so the folder counts too), with the fix; None when nothing is wrong."""
    uid = os.geteuid()
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the database's folder is missing: the parent to create it in
    siblings = [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")]
    for target in (folder, *(p for p in siblings if p.exists())):
        if os.statvfs(target).f_flag & os.ST_RDONLY:
            return f"{target} is on a read-only file system: mount it read-write"
        if os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
            continue
        if target != path.parent and target.is_dir():
            fix = f"mkdir -p {path.parent} && chown {uid} {path.parent}"
        else:
            fix = f"chown {'-R ' if target.is_dir() else ''}{uid} {target}"
        owner = target.stat().st_uid
        if owner != uid:
            return (
                f"{target} is owned by uid {owner} and the monitor runs as uid {uid}: {fix} on the host, "
                f"or run the container with --user {owner}"
            )
        return f"{target} is not writable (mode {target.stat().st_mode & 0o777:o}): chmod u+w {target}"
    return None
