"""Browser fixtures: Debian's headless Chromium driven by Playwright, the reference agents."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright

from harness.orchestrator import RunningApp
from harness.procs import ServerProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "tests" / "playground" / "screenshots"  # git-ignored
CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
AGENTS = ("reserva", "cita", "venta")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (`make test` installs it), headless; a missing browser fails the test.

    Module-scoped: Playwright's sync API runs its own event loop in the main thread while it is
    open, which async tests of later modules (pytest-asyncio) must not find running."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's chromium "
            "(`make test` installs it: apt-get install chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@dataclass
class PlaygroundPage:
    """A page on /playground of one app, with the JavaScript errors seen while it was open."""

    page: Page
    app: RunningApp
    js_errors: list[str] = field(default_factory=list)

    def send(self, text: str) -> None:
        """Type a customer message and press Enter, as an operator would."""
        self.page.fill("#message", text)
        self.page.press("#message", "Enter")

    def wait_replies(self, count: int, timeout: float = 30_000) -> None:
        """Until `count` bot messages are finished (a meta line or an error shown)."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('.msg.bot .meta, .msg.bot.error').length >= n",
            arg=count,
            timeout=timeout,
        )

    def bot_replies(self) -> list[dict[str, Any]]:
        """Each bot message: its text, the meta line's action and agent, and its meta text."""
        return self.page.eval_on_selector_all(
            ".msg.bot",
            """items => items.map(item => {
                const meta = item.querySelector('.meta');
                return {
                    text: item.querySelector('.bubble').textContent,
                    error: item.classList.contains('error'),
                    action: meta ? meta.dataset.action : null,
                    agent: meta ? meta.dataset.agent : null,
                    meta: meta ? meta.textContent : null,
                };
            })""",
        )

    def session_id(self) -> str:
        return self.page.input_value("#session-id")

    def text(self, selector: str) -> str:
        """The element's text content ("" when it has none)."""
        return self.page.text_content(selector) or ""

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _is_js_error(message: ConsoleMessage) -> bool:
    # Chromium also logs every 4xx answer of fetch() ("Failed to load resource"): that is the
    # network log of an answer the page handles (a new session's 404, a 401), not a script error.
    return message.type == "error" and not message.text.startswith("Failed to load resource")


@pytest.fixture
def open_playground(browser: Browser) -> Iterator[Callable[..., PlaygroundPage]]:
    """open_playground(app, viewport=DESKTOP): a fresh browser context on the app's page."""
    contexts = []

    def open_page(app: RunningApp, viewport: ViewportSize | None = None) -> PlaygroundPage:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="es-PE")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        view = PlaygroundPage(page, app)
        page.on("pageerror", lambda exc: view.js_errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                view.js_errors.append(f"console: {msg.text}") if _is_js_error(msg) else None
            ),
        )
        response = page.goto(f"{app.url}/playground")
        assert response is not None and response.status == 200
        page.wait_for_selector("body[data-ready='true']")
        return view

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The three reference agents (mcp_agents) as processes on free ports: name -> MCP URL."""
    root = tmp_path_factory.mktemp("reference")
    started = {}
    for name in AGENTS:
        port = free_port()
        proc = ServerProcess.python_module(
            f"mcp_agents.{name}",
            "--port",
            port,
            "--db",
            root / f"{name}.sqlite",
            name=f"ref-{name}",
            log_dir=root,
            ready_url=f"http://127.0.0.1:{port}/health",
        )
        started[name] = (proc.spawn(), f"http://127.0.0.1:{port}/mcp")
    for proc, _ in started.values():
        proc.wait_ready()
    yield {name: url for name, (_, url) in started.items()}
    for proc, _ in started.values():
        proc.stop()
