"""Run the cita agent: python -m mcp_agents.cita [--host H] [--port 8002] [--db PATH]."""

from mcp_agents.cita.server import build_server
from mcp_agents.common.cli import run_agent

if __name__ == "__main__":
    run_agent("cita", 8002, build_server)
