"""Strict checks of customer fields shared by every agent's write tools."""

from __future__ import annotations

import re

from mcp.server.fastmcp.exceptions import ToolError


def clean_name(raw: str) -> str:
    """A customer name with collapsed spaces, else a Spanish ToolError."""
    name = re.sub(r"\s+", " ", raw or "").strip()
    if not re.search(r"[^\W\d_]", name) or len(name) > 80:
        raise ToolError("Indica el nombre del cliente (solo el nombre, hasta 80 caracteres).")
    return name


def clean_phone(raw: str) -> str:
    """An optional phone number made of digits, spaces, +, - or parentheses."""
    phone = (raw or "").strip()
    if phone and not re.fullmatch(r"\+?[\d\s()-]{6,20}", phone):
        raise ToolError(
            f"El teléfono '{raw}' no es válido. Escribe solo números, por ejemplo 987654321."
        )
    return phone
