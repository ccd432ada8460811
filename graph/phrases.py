"""The bot's fixed phrases from its config, with Spanish defaults when the client sent none."""

from graph.bot_config import BotConfig

GREETING = "¡Hola! Soy {nombre_bot}, ¿en qué te puedo ayudar hoy?"
FAREWELL = "¡Gracias por escribirnos! Que tengas un excelente día."
DONT_KNOW = "Disculpa, no tengo esa información en este momento. ¿Te puedo ayudar con algo más?"
ESCALATION = "Te comunico con una persona de nuestro equipo para ayudarte mejor."
AGENT_DOWN = (
    "Disculpa, en este momento no puedo atender esa solicitud. "
    "Por favor, inténtalo de nuevo en unos minutos."
)
UNNAMED_BOT = "tu asistente virtual"


def greeting(config: BotConfig) -> str:
    """frase_saludo, else a greeting with the bot's name."""
    return config.frase_saludo or GREETING.format(nombre_bot=config.nombre_bot or UNNAMED_BOT)


def farewell(config: BotConfig) -> str:
    """frase_des, else the default farewell."""
    return config.frase_des or FAREWELL


def dont_know(config: BotConfig) -> str:
    """frase_no_sabe, else the default "I don't know"."""
    return config.frase_no_sabe or DONT_KNOW


def escalation(config: BotConfig) -> str:
    """frase_esc, else the default hand-over to a person."""
    return config.frase_esc or ESCALATION


def fallback_phrase(config: BotConfig) -> str:
    """What the user reads when the chosen agent could not answer (or the turn ran out of time)."""
    return config.frase_no_sabe or AGENT_DOWN
