"""Chat memory by session_id, stored as JSON in the agent's own SQLite file."""

from __future__ import annotations

import json
from typing import Any

from .db import reading, timestamp, transaction

SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_sesiones (
    session_id TEXT PRIMARY KEY,
    estado TEXT NOT NULL,
    turnos INTEGER NOT NULL DEFAULT 0,
    actualizado_en TEXT NOT NULL
);
"""


class DialogueMemory:
    """Loads and saves one JSON state object per chat session."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path

    def load(self, session_id: str) -> dict[str, Any]:
        with reading(self.db_path) as conn:
            row = conn.execute(
                "SELECT estado FROM chat_sesiones WHERE session_id = ?", (session_id,)
            ).fetchone()
        return json.loads(row["estado"]) if row else {}

    def save(self, session_id: str, state: dict[str, Any]) -> None:
        with transaction(self.db_path) as tx:
            tx.execute(
                "INSERT INTO chat_sesiones (session_id, estado, turnos, actualizado_en)"
                " VALUES (?, ?, 1, ?) ON CONFLICT(session_id) DO UPDATE SET"
                " estado = excluded.estado, turnos = turnos + 1,"
                " actualizado_en = excluded.actualizado_en",
                (session_id, json.dumps(state, ensure_ascii=False), timestamp()),
            )

    def init(self) -> None:
        """Create the sessions table if needed."""
        with reading(self.db_path) as conn:
            conn.executescript(SESSIONS_SCHEMA)
