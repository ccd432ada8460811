"""POST /api/agent/chat: one turn of a conversation."""

from fastapi import APIRouter

from server.deps import ServicesDep
from server.schemas import ChatRequest, ChatResponse, ErrorResponse
from server.turns import run_turn

router = APIRouter(prefix="/api/agent", tags=["chat"])

ERRORS = {400: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
          500: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}


@router.post("/chat", response_model=ChatResponse, responses=ERRORS)
async def chat(body: ChatRequest, services: ServicesDep) -> ChatResponse:
    """Answer one customer message: the orchestrator replies or delegates to an agent."""
    await services.security.admit_turn(body)
    return await run_turn(body, services)
