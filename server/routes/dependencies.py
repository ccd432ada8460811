"""FastAPI dependencies, declared once as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Request

from server.services import Services


def get_services(request: Request) -> Services:
    """The Services built by this app's lifespan."""
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]
