"""Page routes under ``/ui``: each renders a template shell; its JS module fetches the data.

The pages are public HTML (no data in them); every read and write goes through the JSON API
with the bearer token the login page keeps in ``sessionStorage``, so the API's department
scoping and custody recording apply to the pages exactly as to the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from evidence_service.web.messages import DEFAULT_LANGUAGE, LANGUAGES, catalog

_HERE: Final = Path(__file__).parent
PREFIX: Final = "/ui"
_templates = Jinja2Templates(directory=_HERE / "templates")

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: page name -> (template, needs a login); the JS module is ``static/js/<page>.js``
_PAGES: Final[dict[str, tuple[str, bool]]] = {
    "login": ("login.html", False),
    "home": ("home.html", True),
    "upload": ("upload.html", True),
    "case": ("case.html", True),
    "item": ("item.html", True),
    "dashboard": ("dashboard.html", True),
    "transfers": ("transfers.html", True),
    "verify": ("verify.html", False),
}


def _language(request: Request) -> str:
    lang = request.cookies.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _render(request: Request, page: str, **context: str) -> HTMLResponse:
    template, needs_login = _PAGES[page]
    lang = _language(request)
    messages = catalog(lang)
    response = _templates.TemplateResponse(request, template, {
        "page": page, "lang": lang, "t": messages, "needs_login": needs_login,
        "prefix": PREFIX, **context})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The department-scoped home page: the caller's cases."""
    return _render(request, "home")


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    return _render(request, "login")


@router.get("/upload", response_class=HTMLResponse)
def upload(request: Request) -> HTMLResponse:
    return _render(request, "upload")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: str) -> HTMLResponse:
    return _render(request, "case", case_id=case_id)


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item(request: Request, item_id: str) -> HTMLResponse:
    return _render(request, "item", item_id=item_id)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    return _render(request, "dashboard")


@router.get("/transfers", response_class=HTMLResponse)
def transfers(request: Request) -> HTMLResponse:
    return _render(request, "transfers")


@router.get("/verify", response_class=HTMLResponse)
def verify(request: Request) -> HTMLResponse:
    """The public verification portal (no login)."""
    return _render(request, "verify")


def install(app: FastAPI) -> None:
    """Mount the pages, their static files, and ``/`` -> the home page."""
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_HERE / "static"), name="web-static")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
