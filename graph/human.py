"""A person of the business in the conversation (human handoff): how their messages are stored
and told apart from the bot's, so the router sees what the person said once the bot resumes."""

import uuid

from langchain_core.messages import AIMessage, BaseMessage

PERSON_PREFIX = "humano:"
"""The stored name of a person's message: `humano:<author>` (the bot's are an agent's name or
`orquestador`)."""


def person_message(text: str, author: str) -> AIMessage:
    """The business's message written by a person (`author`), as the conversation stores it."""
    return AIMessage(text, name=f"{PERSON_PREFIX}{author}", id=uuid.uuid4().hex)


def is_person(message: BaseMessage) -> bool:
    """True for a message a person of the business wrote (not the bot, not the customer)."""
    return message.type == "ai" and (message.name or "").startswith(PERSON_PREFIX)
