"""The `url` attachment of a reply rendered in the page (an image as an image, else a link).

Needs the agent-roster work (issue 12: `AGENT_<KEY>_URL` with plain-HTTP agents answering
`{reply, url}`) and `url` / `X-Request-ID` on responses: it fails until those are merged."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.asgi_thread import ThreadedASGIServer
from harness.orchestrator import OrchestratorProcess
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]


def tiny_png() -> bytes:
    """A valid 2x2 PNG (green), made here so the test ships no binary."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x0b\x7a\x61" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def carta_agent() -> Iterator[ThreadedASGIServer]:
    """A plain-HTTP agent like agente_ventes 2.5: POST /api/chat -> {reply, url}; serves files."""
    server: ThreadedASGIServer

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        if "roto" in body["message"].lower():  # not valid percent-encoding (issue 21 item 9)
            return JSONResponse(
                {"reply": "Aquí va el archivo.", "url": f"{server.url}/media/carta%E0%A4%A.pdf"}
            )
        if "pdf" in body["message"].lower():
            return JSONResponse(
                {"reply": "Te envío la carta en PDF.", "url": f"{server.url}/media/carta.pdf"}
            )
        return JSONResponse(
            {"reply": "Esta es nuestra carta de hoy.", "url": f"{server.url}/media/carta.png"}
        )

    async def media(request: Request) -> Response:
        if request.path_params["name"] == "carta.png":
            return Response(tiny_png(), media_type="image/png")
        return Response(b"%PDF-1.4\n%%EOF\n", media_type="application/pdf")

    app = Starlette(
        routes=[
            Route("/api/chat", chat, methods=["POST"]),
            Route("/media/{name}", media),
            Route("/health", lambda _: JSONResponse({"status": "ok"})),
        ]
    )
    server = ThreadedASGIServer(app, name="carta-agent")
    with server:
        yield server


def test_url_attachments_and_request_id(
    tmp_path: Path, carta_agent: ThreadedASGIServer, open_playground: OpenPlayground
) -> None:
    orchestrator = OrchestratorProcess(
        tmp_path,
        {
            "LLM_MODE": "offline",
            "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
            "AGENT_CARTA_URL": f"{carta_agent.url}/api/chat",
            "AGENT_CARTA_PROTOCOL": "http",
            "AGENT_CARTA_DESCRIPTION": "la carta, el menú y los precios del restaurante",
        },
    ).start()
    try:
        view = open_playground(orchestrator)
        page = view.page
        with page.expect_response("**/api/agent/chat/stream") as response_info:
            view.send("quiero ver la carta")
        request_id = response_info.value.headers.get("x-request-id")
        view.wait_replies(1)
        first = view.bot_replies()[0]
        assert (first["action"], first["agent"]) == ("delegate", "carta")
        assert first["text"] == "Esta es nuestra carta de hoy."
        assert request_id and f"id {request_id}" in first["meta"]
        image = page.locator(".msg.bot .attachment img").first
        assert image.get_attribute("src") == f"{carta_agent.url}/media/carta.png"
        page.wait_for_function(
            "() => { const i = document.querySelector('.attachment img');"
            " return i && i.complete && i.naturalWidth === 2; }"
        )

        view.send("¿me la mandas en pdf?")
        view.wait_replies(2)
        link = page.locator(".msg.bot").nth(1).locator(".attachment a")
        assert link.text_content() == "Adjunto: carta.pdf"
        assert link.get_attribute("href") == f"{carta_agent.url}/media/carta.pdf"
        assert link.locator("img").count() == 0
        view.screenshot("url_attachment.png")
        assert view.js_errors == []
    finally:
        orchestrator.close()


def test_an_undecodable_url_is_shown_as_plain_text(
    tmp_path: Path, carta_agent: ThreadedASGIServer, open_playground: OpenPlayground
) -> None:
    orchestrator = OrchestratorProcess(
        tmp_path,
        {
            "LLM_MODE": "offline",
            "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
            "AGENT_CARTA_URL": f"{carta_agent.url}/api/chat",
            "AGENT_CARTA_PROTOCOL": "http",
            "AGENT_CARTA_DESCRIPTION": "la carta, el menú y los precios del restaurante",
        },
    ).start()
    try:
        view = open_playground(orchestrator)
        page = view.page
        view.send("quiero la carta, el archivo roto")
        view.wait_replies(1)
        first = view.bot_replies()[0]
        # the reply is shown (the page used to say it could not reach the service)
        assert first["text"] == "Aquí va el archivo.", first
        assert page.locator(".msg.bot.error").count() == 0
        link = page.locator(".msg.bot .attachment a")
        assert link.text_content() == "Adjunto: carta%E0%A4%A.pdf"
        assert link.get_attribute("href") == f"{carta_agent.url}/media/carta%E0%A4%A.pdf"
        # the page keeps working: the next reply comes
        view.send("¿me la mandas en pdf?")
        view.wait_replies(2)
        assert view.bot_replies()[1]["text"] == "Te envío la carta en PDF."
        assert view.js_errors == []
    finally:
        orchestrator.close()
