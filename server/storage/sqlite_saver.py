"""SQLite checkpoints on one thread of their own: LangGraph's SqliteSaver, one thread hop per call.

aiosqlite hops to its thread and back for every statement, cursor and fetch (about ten per
turn); here a whole saver call (read a checkpoint with its writes, or write one and commit) runs
on the connection's one thread at once, so a turn costs two hops. The thread also serialises
every use of the connection: no lock is needed around it.
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver

T = TypeVar("T")

BUSY_TIMEOUT = 5.0
"""Seconds a statement waits for another process's write lock before `database is locked`."""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteThread:
    """One sqlite3 connection and the one thread that uses it; calls run in arrival order."""

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self.conn = conn
        self._executor = executor

    @classmethod
    async def open(cls, path: Path) -> "SqliteThread":
        """Open the database file on a new thread (sqlite3.Error or OSError when it cannot)."""
        executor = ThreadPoolExecutor(1, thread_name_prefix="checkpoints")
        try:
            conn = await asyncio.get_running_loop().run_in_executor(executor, _connect, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(conn, executor)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the connection's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        """Close the connection (after every queued call), then stop the thread."""
        try:
            await self.run(self.conn.close)
        finally:
            self._executor.shutdown(wait=True)


class ThreadedSqliteSaver(BaseCheckpointSaver[str]):
    """The graph's async checkpointer on SQLite: each call is SqliteSaver's, run on the thread.

    Same tables, rows and serializer as LangGraph's SQLite savers, so a database written by
    AsyncSqliteSaver (or read by SqliteSaver in tests) is the same database.
    """

    def __init__(self, db: SqliteThread) -> None:
        self._saver = SqliteSaver(db.conn)
        super().__init__(serde=self._saver.serde)
        self._db = db

    async def setup(self) -> None:
        """Create the tables (idempotent)."""
        await self._db.run(self._saver.setup)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._db.run(self._saver.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def read() -> list[CheckpointTuple]:
            return list(self._saver.list(config, filter=filter, before=before, limit=limit))

        for item in await self._db.run(read):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._db.run(self._saver.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._db.run(self._saver.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._db.run(self._saver.delete_thread, thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        def read() -> Mapping[str, Any]:
            return self._saver.get_delta_channel_history(config=config, channels=channels)

        return await self._db.run(read)

    def get_next_version(self, current: str | None, channel: None) -> str:
        return self._saver.get_next_version(current, channel)
