"""Command line and environment options of every agent, and the uvicorn runner."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from mcp.server.fastmcp import FastMCP
from starlette.types import ASGIApp

log = logging.getLogger("mcp_agents")


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    db: str
    allow_any_host: bool
    log_level: str


def parse_options(
    agent: str, default_port: int, argv: list[str] | None = None, with_db: bool = True
) -> Options:
    """--host/--port/--db/--allow-any-host, each defaulting to <AGENT>_HOST etc. from the env."""
    env = agent.upper()
    parser = argparse.ArgumentParser(
        prog=f"python -m mcp_agents.{agent}", description=f"Reference agent server '{agent}'"
    )
    parser.add_argument("--host", default=os.environ.get(f"{env}_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=os.environ.get(f"{env}_PORT", default_port))
    if with_db:
        parser.add_argument("--db", default=os.environ.get(f"{env}_DB", f"data/{agent}.sqlite"))
    parser.add_argument(
        "--allow-any-host",
        action="store_true",
        default=os.environ.get(f"{env}_ALLOW_ANY_HOST", "").lower() in ("1", "true", "yes"),
        help="accept any Host header (DNS-rebinding protection off); "
        "implied unless bound to loopback",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO").upper())
    args = parser.parse_args(argv)
    return Options(
        args.host, args.port, getattr(args, "db", ""), args.allow_any_host, args.log_level
    )


def serve(agent: str, app: ASGIApp, options: Options, detail: str) -> None:
    """Log one start line and run the app with uvicorn until interrupted."""
    logging.basicConfig(
        level=options.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("mcp.server.lowlevel.server").setLevel(logging.WARNING)
    for noisy in ("mcp.server.streamable_http_manager", "mcp.server.streamable_http"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    log.info("%s listening on http://%s:%d (%s)", agent, options.host, options.port, detail)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )


def run_agent(
    agent: str, default_port: int, factory: Callable[..., FastMCP], argv: list[str] | None = None
) -> None:
    """Entry point of `python -m mcp_agents.<agent>`: build the MCP server and serve /mcp."""
    options = parse_options(agent, default_port, argv)
    logging.basicConfig(
        level=options.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    server = factory(options.db, host=options.host, allow_any_host=options.allow_any_host)
    app = server.streamable_http_app()
    checked = options.host in ("127.0.0.1", "localhost", "::1") and not options.allow_any_host
    serve(
        agent,
        app,
        options,
        f"mcp path /mcp, db {os.path.abspath(options.db)}, host check {'on' if checked else 'off'}",
    )
