"""Stored conversations, read, expired and deleted through the checkpointer's own tables."""

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict
from typing import Any

from cachetools import LRUCache, TTLCache

from graph.conversation import conversation_summary, stored_conversation, stored_turns
from server.conversations.keys import MARK, split_key
from server.storage.backend import CheckpointBackend
from server.storage.locks import SessionLockTimeout, TurnLocks
from server.storage.ops import checkpoint_id_at, checkpoint_time

log = logging.getLogger(__name__)


class ConversationStore:
    """Lists, expires, adopts and deletes conversations (checkpoint threads, each named by its
    conversation key: see server.conversations); pruning is a database trigger."""

    def __init__(
        self, backend: CheckpointBackend, ttl_seconds: int, *, adopt: bool = False
    ) -> None:
        self._backend = backend
        self._ttl = ttl_seconds
        # Company conversations this process has already looked at for adoption (or stored):
        # only a conversation's first turn in this process can adopt, so later turns skip it.
        self._settled: LRUCache[str, bool] | None = LRUCache(maxsize=100_000) if adopt else None
        # When this process last stored a turn of a session. Any other process can only have
        # stored a later one, so a session seen here within the TTL is surely not idle-expired
        # and its turn skips the expiry query (the database is asked only past that).
        self._stored_at: TTLCache[str, float] | None = (
            TTLCache(maxsize=100_000, ttl=ttl_seconds) if ttl_seconds > 0 else None
        )

    def stored(self, session_id: str) -> None:
        """Note that this process just stored a turn of the session."""
        if self._stored_at is not None:
            self._stored_at[session_id] = time.time()
        if self._settled is not None:
            self._settled[session_id] = True

    async def adopt_if_new(self, key: str) -> bool:
        """Give a company conversation with no checkpoint of its own the conversation stored
        under its bare session id (SESSION_SCOPE=company over an older database); True when it
        took it. Once per conversation and process: one statement, then remembered."""
        if self._settled is None or key in self._settled:
            return False
        company, session_id = split_key(key)
        if company is None:
            return False
        newer = checkpoint_id_at(time.time() - self._ttl) if self._ttl > 0 else ""
        adopted = await self._backend.ops.adopt(key, session_id, newer)
        self._settled[key] = True
        if adopted:
            log.info("conversation adopted from its bare session id", extra={"id_empresa": company})
        return adopted

    async def holders(self, session_id: str) -> list[str]:
        """The live conversations of a session id: its bare one and each company's."""
        now = time.time()
        keys = await self._backend.ops.threads_ending(MARK, f":{session_id}", session_id)
        found = []
        for key in sorted(keys):
            if split_key(key)[1] != session_id:  # `…:a:b` ends with `:b` but is session `a:b`
                continue
            latest = await self._backend.ops.latest_id(key)
            if latest is not None and not self._expired(latest, now):
                found.append(key)
        return found

    def _expired(self, checkpoint_id: str, now: float) -> bool:
        return self._ttl > 0 and now - checkpoint_time(checkpoint_id) > self._ttl

    async def turns_by_session(self) -> dict[str, int]:
        """Session id → turns its stored conversation holds (idle-expired sessions excluded)."""
        now = time.time()
        live = [
            thread
            for thread, cid in (await self._backend.ops.latest_ids()).items()
            if not self._expired(cid, now)
        ]
        counts: dict[str, int] = {}
        for thread in sorted(live):
            item = await self._backend.saver.aget_tuple({"configurable": {"thread_id": thread}})
            if item is not None:
                counts[thread] = stored_turns(item.checkpoint)
        return counts

    async def conversation(self, session_id: str) -> dict[str, Any] | None:
        """The conversation stored under a key (None: none or expired), with its session id and
        company split out of the key.

        Only the conversation: messages with their role and answering agent, `active_agent` and
        turn counts. The client's config, the business context and the decision are left out."""
        item = await self._backend.saver.aget_tuple({"configurable": {"thread_id": session_id}})
        if item is None or self._expired(item.checkpoint["id"], time.time()):
            return None
        view = asdict(stored_conversation(item.checkpoint))
        company, bare = split_key(session_id)
        # the key's company (None: a bare-id conversation, or SESSION_SCOPE=global), not the
        # last turn's record: in global scope one conversation may hold several companies' turns
        return {
            **view,
            "session_id": bare,
            "id_empresa": company,
            "updated_at": item.checkpoint["ts"],
        }

    async def summaries(self) -> list[dict[str, Any]]:
        """Every live stored conversation in brief (the console's list), latest activity first:
        session id, company, turns, active agent, mode, last activity and who answered last.

        Reads each conversation's latest checkpoint (one read per conversation: an admin list,
        never on a turn's path)."""
        now = time.time()
        found = []
        for thread, cid in (await self._backend.ops.latest_ids()).items():
            if self._expired(cid, now):
                continue
            item = await self._backend.saver.aget_tuple({"configurable": {"thread_id": thread}})
            if item is not None:
                row = asdict(conversation_summary(item.checkpoint))
                company, bare = split_key(thread)
                if company is not None:  # the key's company wins over the last turn's record
                    row["id_empresa"] = company
                found.append({**row, "session_id": bare})
        found.sort(key=lambda row: row["last_activity"], reverse=True)
        return found

    async def expire_if_idle(self, session_id: str) -> bool:
        """Delete the session when it has been idle past the TTL (caller holds its lock)."""
        if self._ttl <= 0 or (self._stored_at is not None and session_id in self._stored_at):
            return False
        latest = await self._backend.ops.latest_id(session_id)
        if latest is None or not self._expired(latest, time.time()):
            return False
        await self.clear(session_id)
        return True

    async def clear(self, session_id: str) -> None:
        """Delete every checkpoint and write of a session."""
        if self._stored_at is not None:
            self._stored_at.pop(session_id, None)
        await self._backend.saver.adelete_thread(session_id)
        if self._settled is not None:  # cleared: its next turn starts fresh, adopts nothing
            self._settled[session_id] = True

    async def sweep(self, locks: TurnLocks) -> int:
        """Delete every idle-expired session not in use right now; returns how many."""
        now, removed = time.time(), 0
        for thread, cid in (await self._backend.ops.latest_ids()).items():
            if not self._expired(cid, now):
                continue
            with contextlib.suppress(SessionLockTimeout):
                async with locks.hold(thread, 0.05):
                    removed += await self.expire_if_idle(thread)
        return removed

    async def run_sweeper(self, locks: TurnLocks, interval: float) -> None:
        """Sweep forever, one sweeper at a time across instances (PostgreSQL)."""
        while True:
            await asyncio.sleep(interval)
            try:
                shared = self._backend.shared_lock
                if shared is None:
                    removed = await self.sweep(locks)
                else:
                    async with shared.try_hold("ttl-sweeper") as got:
                        removed = await self.sweep(locks) if got else 0
                if removed:
                    log.info("expired sessions deleted", extra={"count": removed})
            except Exception as exc:  # the next sweep tries again
                log.warning("session sweep failed", extra={"error": type(exc).__name__})
