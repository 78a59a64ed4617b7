"""``GET /``: a small landing page, so that the server's address in a browser says where to go
(the operator dashboard, the API documentation, the health check) instead of answering 404."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from actionmfa import __version__

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "ui" / "templates"))

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> HTMLResponse:
    response = templates.TemplateResponse(request, "landing.html", {"version": __version__})
    response.headers.update(_HEADERS)
    return response
