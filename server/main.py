"""The ASGI app (`uvicorn server.main:app`): assembles settings, lifespan, routes and handlers."""

import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from server.errors import install_error_handlers
from server.logging_config import configure_logging
from server.routes import admin, chat, info
from server.security import install_security
from server.security.secrets import secret_values
from server.services import open_services
from server.settings import Settings, SettingsError, load_settings
from server.shutdown import graceful_shutdown


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings are read at start-up (or given by a test)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                active = settings or load_settings()
                configure_logging(active.LOG_LEVEL, secrets=secret_values(active))
                services = await stack.enter_async_context(open_services(active))
            except SettingsError as exc:  # one clear line per variable (storage too), exit 3
                sys.stderr.write(f"{exc}\n")
                sys.stderr.flush()
                os._exit(3)
            app.state.services = services
            async with graceful_shutdown(services.shutdown):
                yield

    app = FastAPI(
        title="MaravIA Orquestador",
        version=info.VERSION,
        lifespan=lifespan,
        description="Routes customer chat turns to the orchestrator or to MCP agents.",
    )
    install_error_handlers(app)
    install_security(app)
    app.include_router(chat.router)
    app.include_router(admin.router)
    app.include_router(info.router)
    return app


app = create_app()
