"""FastAPI dependencies, declared once as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Request

from server.errors import ApiError
from server.services import Services

STARTING = "El servicio se está iniciando; inténtalo de nuevo en unos segundos."


def get_services(request: Request) -> Services:
    """The Services built by this app's lifespan (a Spanish 503 before it has run)."""
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):
        raise ApiError(503, STARTING)
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
