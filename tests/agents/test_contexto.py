"""The demo business-context service as a real process (port from CONTEXTO_PORT)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ServerProc, start_agent

OP = "OBTENER_CONTEXTO_NEGOCIO"


@pytest.fixture(scope="module")
def service(workdir: Path) -> Iterator[ServerProc]:
    yield from start_agent("mcp_agents.contexto", workdir, port_via_env="CONTEXTO_PORT")


def post(service: ServerProc, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{service.base}{path}", trust_env=False, timeout=5, **kwargs)


def test_health(service: ServerProc) -> None:
    r = httpx.get(f"{service.base}/health", trust_env=False)
    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/", "/contexto"])
def test_known_company(service: ServerProc, path: str) -> None:
    r = post(service, path, json={"codOpe": OP, "id_empresa": 1})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and set(body) == {"success", "contexto_negocio"}
    assert "Miraflores" in body["contexto_negocio"] and "Yape" in body["contexto_negocio"]


def test_companies_differ_and_unknown_gets_generic_text(service: ServerProc) -> None:
    texts = [
        post(service, "/", json={"codOpe": OP, "id_empresa": i}).json()["contexto_negocio"]
        for i in (1, 2, 3, 987654)
    ]
    assert len(set(texts)) == 4
    assert "Clínica Dental" in texts[1] and "MaravIA" in texts[3]


@pytest.mark.parametrize(
    "body",
    [
        {"codOpe": "OTRA_COSA", "id_empresa": 1},
        {"id_empresa": 1},
        {"codOpe": OP},
        {"codOpe": OP, "id_empresa": 0},
        {"codOpe": OP, "id_empresa": -3},
        {"codOpe": OP, "id_empresa": "abc"},
        {"codOpe": OP, "id_empresa": True},
        [OP, 1],
    ],
)
def test_bad_bodies_are_400_in_spanish(service: ServerProc, body: Any) -> None:
    r = post(service, "/", json=body)
    assert r.status_code == 400
    data = r.json()
    assert data["success"] is False and (
        "codOpe" in data["error"] or "id_empresa" in data["error"] or "objeto JSON" in data["error"]
    )


def test_invalid_json_is_400(service: ServerProc) -> None:
    r = post(
        service, "/contexto", content=b"{no es json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json() == {
        "success": False,
        "error": "El cuerpo de la solicitud debe ser un JSON válido.",
    }
