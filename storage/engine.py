"""Engines and sessions: SQLite (aiosqlite, WAL) for the embedded default, PostgreSQL (asyncpg).

SQLite transactions start with ``BEGIN IMMEDIATE`` (SQLAlchemy emits BEGIN itself; the driver's
own transaction handling is switched off). A deferred transaction that reads and then writes
fails with "database is locked" without waiting when another process wrote in between; an
immediate one takes the write lock up front and waits up to ``busy_timeout`` for it, so ``serve``,
the CLI and the scheduler can write side by side. The price: keep transactions short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.errors import DatabaseUnavailable

SqliteBegin = Literal["IMMEDIATE", "DEFERRED"]


def normalize_url(url: str | URL) -> URL:
    """The async URL for ``url``: ``postgres://`` / ``postgresql://`` → asyncpg,
    ``sqlite://`` → aiosqlite; URLs that already name an async driver are kept."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    busy_timeout_ms: int = 10_000,
    foreign_keys: bool = True,
    sqlite_begin: SqliteBegin = "IMMEDIATE",
    echo: bool = False,
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """An async engine for ``url``.

    SQLite: every connection gets ``journal_mode=WAL``, ``busy_timeout``, ``foreign_keys=ON``
    (``foreign_keys=False`` only for migrations, which rebuild tables) and
    ``synchronous=NORMAL``; the parent directory of a file database is created.
    PostgreSQL: pooled asyncpg connections, checked before use so that a restarted server is
    survived; with ``statement_timeout`` (seconds) a statement or a connection attempt that gets
    no answer that long raises TimeoutError (a silent network partition) instead of waiting
    forever. SQLite ignores it (``busy_timeout`` bounds its waits).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        _make_parent_dir(parsed)
        # A memory database is one shared connection (StaticPool): no pool sizes.
        pool: dict[str, Any] = (
            {} if _is_memory(parsed) else {"pool_size": pool_size, "max_overflow": max_overflow}
        )
        engine = create_async_engine(parsed, echo=echo, hide_parameters=True, **pool)
        _install_sqlite_hooks(engine, busy_timeout_ms, foreign_keys, sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if statement_timeout is not None:
        connect_args = {"timeout": statement_timeout, "command_timeout": statement_timeout}
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args=connect_args,
        echo=echo,
        # A database error's text would quote the statement's parameters (bodies, names,
        # phones) into every logged traceback (SPEC §11).
        hide_parameters=True,
    )


def _is_memory(url: URL) -> bool:
    return (url.database or ":memory:") == ":memory:"


def _make_parent_dir(url: URL) -> None:
    database = url.database or ""
    if _is_memory(url) or database.startswith("file:"):
        return
    # On failure connecting reports it: DatabaseUnavailable("unable to open database file").
    with suppress(OSError):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(
    engine: AsyncEngine, busy_timeout_ms: int, foreign_keys: bool, begin: SqliteBegin
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below); the driver's implicit BEGIN would skip SELECTs and
        # SAVEPOINTs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL takes a lock too, and another process may
            # hold one (two `carebot db upgrade` at once on a new file).
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(f"BEGIN {begin}")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no lazy reloads under asyncio)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _connection_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [OSError]
    try:
        import asyncpg.exceptions as pg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return tuple(types)
    types += [
        pg.PostgresConnectionError,
        pg.ConnectionDoesNotExistError,
        pg.CannotConnectNowError,
        pg.TooManyConnectionsError,
        pg.AdminShutdownError,
        pg.CrashShutdownError,
    ]
    return tuple(types)


def is_unavailable(error: BaseException, *, connecting: bool = False) -> bool:
    """Whether ``error`` means the database cannot be reached (as opposed to a bad statement).

    While ``connecting`` any OSError or driver error counts (refused, unknown database, bad
    credentials, SQLite "unable to open database file"). Afterwards only SQLAlchemy errors of a
    lost connection do, so that an unrelated OSError raised inside a transaction is left alone.
    """
    if isinstance(error, DatabaseUnavailable):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if connecting:
            return True
        return isinstance(error.orig, BaseException) and _chain_has(error.orig)
    return connecting and _chain_has(error)


def _chain_has(error: BaseException) -> bool:
    types = _connection_error_types()
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, types):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def translate_unavailable(*, connecting: bool = False) -> Iterator[None]:
    """Re-raise "cannot reach the database" errors as :class:`DatabaseUnavailable`."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as error:
        if is_unavailable(error, connecting=connecting):
            message = f"the database cannot be reached ({_describe(error)})"
            raise DatabaseUnavailable(message) from error
        raise


def _describe(error: BaseException) -> str:
    inner: BaseException = error
    orig = getattr(error, "orig", None)
    if isinstance(orig, BaseException):
        inner = orig.__cause__ or orig
    return f"{type(inner).__name__}: {inner}"


class Database:
    """An engine and its session factory; entry points own the transactions.

    ``async with db.transaction() as session:`` runs one ``session.begin()``: commit on success,
    rollback on error. Connection failures raise :class:`DatabaseUnavailable`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = session_factory(engine)

    @classmethod
    def from_url(cls, url: str | URL, **engine_options: Any) -> Database:
        return cls(create_engine(url, **engine_options))

    @property
    def url(self) -> str:
        """The engine's URL including the password (for tests and child engines; never log)."""
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            with translate_unavailable(connecting=True):
                await session.connection()  # begins the one transaction and checks out
            with translate_unavailable():
                yield session
                await session.commit()
            # On an error the session's close() rolls the transaction back.

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session without an explicit transaction (autobegin; the caller commits, if ever)."""
        async with self.sessionmaker() as session:
            with translate_unavailable():
                yield session

    async def ping(self) -> None:
        """Raise DatabaseUnavailable unless the database answers ``SELECT 1``."""
        with translate_unavailable(connecting=True):
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.dispose()
