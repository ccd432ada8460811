"""Run the venta agent: python -m mcp_agents.venta [--host H] [--port 8001] [--db PATH]."""

from mcp_agents.common.cli import run_agent
from mcp_agents.venta.server import build_server

if __name__ == "__main__":
    run_agent("venta", 8001, build_server)
