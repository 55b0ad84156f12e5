"""The web pages: server-rendered shells (Jinja2) whose small JS modules call the JSON API.

Pages hold no business logic and no data of their own: each one is a template plus a
vanilla ES module under ``static/js`` that reads and writes through the same API as the CLI
(bearer token kept in ``sessionStorage``). Third-party browser code is vendored from npm
(``static/vendor``, refreshed by ``make web-vendor`` from the pinned package-lock.json).
"""

from evidence_service.web.pages import install

__all__ = ["install"]
