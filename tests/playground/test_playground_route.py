"""GET /playground and its assets: served by the service itself, offline, switchable, packaged."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from harness.orchestrator import StartApp
from scripts.demo_config import DEMO_CONFIG
from server.routes.playground import ASSETS, STATIC

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_page_and_assets_are_served_with_a_strict_policy(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    page = app.client.get("/playground")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert '<html lang="es">' in page.text
    for name, media_type in ASSETS.items():
        r = app.client.get(f"/playground/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].split(";")[0] == media_type.split(";")[0]
        assert r.content == (STATIC / name).read_bytes()
    missing = app.client.get("/playground/secrets.txt")
    assert missing.status_code == 404 and missing.json() == {"detail": "Recurso no encontrado"}
    assert app.client.get("/playground/..%2Fsettings.py").status_code == 404
    assert app.client.get("/playground/setup.json").json() == {
        "chat_key_required": False,
        "admin_key_required": False,
        "double_texting": "enqueue",
    }


def test_nothing_is_loaded_from_another_host() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references and all(ref.startswith(("/playground/", "data:")) for ref in references)
    for name in ("index.html", *ASSETS):
        assert not re.search(r"https?://|//cdn|@import", (STATIC / name).read_text("utf-8")), name


def test_the_page_tells_when_keys_are_on(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline", ADMIN_API_KEYS="adm-only")
    assert app.client.get("/playground").status_code == 200  # the page itself is open
    assert app.client.get("/playground/setup.json").json() == {
        "chat_key_required": False,
        "admin_key_required": True,
        "double_texting": "enqueue",
    }


def test_playground_can_be_turned_off(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline", PLAYGROUND_ENABLED=False)
    for path in ("/playground", "/playground/app.js", "/playground/setup.json"):
        r = app.client.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "Recurso no encontrado"}, path
    assert app.client.get("/health").status_code == 200
    assert app.chat("hola", "off-1").status_code == 200


def test_demo_config_matches_the_projects_demo_bot() -> None:
    """The page's copy (the wheel has no scripts/) is the one `make demo` and the tests use."""
    served = json.loads((STATIC / "demo-config.json").read_text(encoding="utf-8"))
    assert served == dict(DEMO_CONFIG)


def test_a_wheel_install_carries_the_page(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(tmp_path), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (wheel,) = tmp_path.glob("maravia_orquestador-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("index.html", *ASSETS):
        assert f"server/static/playground/{name}" in names
