"""`make demo`: play a short Spanish conversation against a running `make run` and print it."""

import os
import re
import sqlite3
import sys
import uuid
from pathlib import Path

import httpx

from scripts.demo_config import dated_config

BASE_URL = os.environ.get("BASE_URL") or f"http://localhost:{os.environ.get('PORT') or '8000'}"
RESERVA_DB = Path(
    os.environ.get("RESERVA_DB") or f"{os.environ.get('DATA_DIR') or 'data'}/reserva.sqlite"
)
CONFIG = dated_config()  # today's date, as n8n sends it
SCRIPT = [
    "Hola, buenas tardes",
    "Quisiera reservar una mesa para 4 personas",
    "para el sábado a las 8 de la noche",
    "a nombre de Ana Torres",
    "y cuánto cuesta el lomo saltado?",
    "¿A qué hora abren?",
    "quiero poner un reclamo por mi pedido anterior",
    "gracias, eso es todo",
]


def main() -> int:
    """Send each line as one turn, print who answered, then look the booking up in SQLite."""
    session = f"demo-{uuid.uuid4().hex[:6]}"
    headers = {"X-API-Key": os.environ["API_KEY"]} if os.environ.get("API_KEY") else {}
    print(f"Conversation {session} with {BASE_URL}\n")
    replies = []
    with httpx.Client(base_url=BASE_URL, timeout=60, headers=headers) as client:
        for message in SCRIPT:
            try:
                r = client.post(
                    "/api/agent/chat",
                    json={"message": message, "session_id": session, "config": CONFIG},
                )
            except httpx.HTTPError as exc:
                print(f"cannot reach {BASE_URL} ({exc}); start it first with `make run`")
                return 1
            body = r.json()
            if r.status_code != 200:
                print(f"  ✗ {r.status_code}: {body.get('detail')}")
                return 1
            who = body["agent_used"] or "orquestador"
            print(f"👤 {message}\n🤖 [{body['action']} → {who}] {body['reply']}\n")
            replies.append(body["reply"])
    codes = re.findall(r"\b(R[A-Z0-9]{4,})\b", " ".join(replies))
    if not codes:
        print("No booking code in the replies.")
        return 1
    code = codes[-1]
    if RESERVA_DB.exists():
        with sqlite3.connect(RESERVA_DB) as db:
            row = db.execute(
                "SELECT codigo, fecha, hora, nombre_cliente, estado FROM reservas WHERE codigo = ?",
                (code,),
            ).fetchone()
        print(
            f"Stored booking in {RESERVA_DB}: {row}"
            if row
            else f"Booking {code} not found in {RESERVA_DB}"
        )
        if not row:
            return 1
    else:
        print(f"Booking code {code} (agent database {RESERVA_DB} not on this machine)")
    # free the slot again, so the demo can be played any number of times
    with httpx.Client(base_url=BASE_URL, timeout=60, headers=headers) as client:
        body = client.post(
            "/api/agent/chat",
            json={
                "message": f"quiero cancelar mi reserva {code}",
                "session_id": session,
                "config": CONFIG,
            },
        ).json()
    print(
        f"\n👤 quiero cancelar mi reserva {code}\n"
        f"🤖 [{body.get('action')} → {body.get('agent_used')}] "
        f"{body.get('reply', body.get('detail'))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
