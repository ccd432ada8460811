"""Which chunks of a graph's `messages` stream are the agent's final answer, sent live as tokens."""

from typing import Any

from langchain_core.messages import AIMessageChunk

from graph.nodes.agent import AGENT_NODE_PREFIX, TOOL_LOOP_MODEL


def answer_token(chunk: Any, metadata: dict[str, Any]) -> str:
    """The text of a streamed chunk of a tool-loop agent's model ("" for everything else).

    Only the tool loop's model node inside an agent subgraph counts, and only chunks that carry
    text and no tool call: the router's structured output, tool-call arguments and whole messages
    that nodes return are never tokens of the reply."""
    if not isinstance(chunk, AIMessageChunk) or chunk.tool_call_chunks or chunk.tool_calls:
        return ""
    if metadata.get("langgraph_node") != TOOL_LOOP_MODEL:
        return ""
    if not str(metadata.get("langgraph_checkpoint_ns", "")).startswith(AGENT_NODE_PREFIX):
        return ""
    return chunk.text
