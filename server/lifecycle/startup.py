"""A start-up refused for a setting: uvicorn logs one line and exits 3, never a traceback."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class StartupRefused(Exception):
    """The lifespan could not start because of a setting; its text is one line per variable."""


class StartupErrorsMiddleware:
    """Replaces the traceback Starlette reports for a refused start-up with its lines (the
    lifespan leaves them in `app.state.startup_refused`); uvicorn logs that message, then exits
    with its start-up failure code, 3."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state

        async def send_one_line(message: Message) -> None:
            refused = getattr(state, "startup_refused", None)
            if message["type"] == "lifespan.startup.failed" and refused:
                message = {**message, "message": refused}
            await send(message)

        await self.app(scope, receive, send_one_line)
