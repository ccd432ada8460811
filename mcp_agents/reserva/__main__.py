"""Run the reserva agent: python -m mcp_agents.reserva [--host H] [--port 8003] [--db PATH]."""

from mcp_agents.common.cli import run_agent
from mcp_agents.reserva.server import build_server

if __name__ == "__main__":
    run_agent("reserva", 8003, build_server)
