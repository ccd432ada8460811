"""The ASGI app (`uvicorn server.main:app`): settings read once; middleware, routes, lifespan."""

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from server.errors import install_error_handlers
from server.lifecycle.heap import startup_heap_frozen
from server.lifecycle.shutdown import graceful_shutdown
from server.lifecycle.startup import StartupErrorsMiddleware, StartupRefused
from server.observability.logging_config import configure_logging
from server.observability.metrics import Metrics
from server.observability.request_ids import RequestIdMiddleware
from server.routes import admin, chat, info, playground, sessions, usage, webhooks
from server.security import install_security
from server.security.guard import build_guard
from server.security.secrets import secret_values
from server.security.url_mask import mask_urls_in
from server.services import open_services
from server.settings import Settings, SettingsError, load_settings
from server.turn.modalidad import normalize

BAD_SETTINGS_EXIT = 3
"""Exit code of a start-up refused for its settings (uvicorn's own start-up failure code)."""


def create_app(settings: Settings) -> FastAPI:
    """Build the app from these settings: middleware configured now; storage, Redis and the
    agents' sessions opened by the lifespan."""
    metrics = Metrics(
        agent_names=settings.roster.all_names,
        modalidad_keys=frozenset(map(normalize, settings.MODALIDAD_AGENTS)),
    )
    guard = build_guard(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # logging is set when the app serves, so importing this module leaves a process's logs alone
        configure_logging(settings.LOG_LEVEL, secrets=secret_values(settings))
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(guard.connect())
                services = await stack.enter_async_context(open_services(settings, metrics, guard))
            except SettingsError as exc:  # a storage setting: one line, uvicorn exits with 3
                refused = mask_urls_in(str(exc))
                sys.stderr.write(f"{refused}\n")
                sys.stderr.flush()
                app.state.startup_refused = refused
                raise StartupRefused(refused) from None
            app.state.services = services
            with startup_heap_frozen():
                async with graceful_shutdown(services.shutdown):
                    yield

    app = FastAPI(
        title="MaravIA Orquestador",
        version=info.VERSION,
        lifespan=lifespan,
        description="Routes customer chat turns to the orchestrator or to MCP agents.",
    )
    install_error_handlers(app)
    install_security(app, guard)
    app.add_middleware(RequestIdMiddleware)  # every response and log line has the request id
    app.add_middleware(StartupErrorsMiddleware)
    app.include_router(chat.router)
    app.include_router(admin.router)
    app.include_router(info.router)
    app.include_router(playground.router)
    app.include_router(usage.router)
    app.include_router(webhooks.router)
    app.include_router(sessions.router)
    return app


def app_from_environment() -> FastAPI:
    """The app for the environment's settings; a bad setting prints one line per variable on
    stderr and exits with code 3 (no traceback)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"{mask_urls_in(str(exc))}\n")
        sys.stderr.flush()
        raise SystemExit(BAD_SETTINGS_EXIT) from None
    return create_app(settings)


app = app_from_environment()
