"""Tag search over evidence items: the criteria and how free-text terms are compared.

Free-text tags (party, place, cause of action) match as case-insensitive substrings. Both
the stored value and the query are folded by :func:`fold_term` (NFKC, so full-width and
half-width forms agree, then Unicode case folding and collapsed whitespace), which makes
the comparison the same on every database. Inspection and penalty numbers match exactly.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from pydantic import BaseModel, ConfigDict, model_validator

from evidence_service.domain.errors import InvalidInput

#: Most items one search may return.
MAX_SEARCH_LIMIT = 500
DEFAULT_SEARCH_LIMIT = 50


def fold_term(value: str) -> str:
    """Fold free text for comparison: NFKC, case-folded, whitespace runs collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


class ItemSearch(BaseModel):
    """What to look for; every criterion given must hold (AND).

    Text criteria are stored folded (see :func:`fold_term`). ``captured_from`` and
    ``captured_to`` bound ``capture.captured_at`` inclusively and must be tz-aware.
    Raises InvalidInput when no criterion is given, a time is naive or the range is inverted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: str | None = None
    place: str | None = None
    cause_of_action: str | None = None
    inspection_number: str | None = None
    penalty_number: str | None = None
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    case_id: str | None = None

    @classmethod
    def build(cls, **criteria: str | datetime | None) -> ItemSearch:
        """Normalise raw criteria (blank text counts as absent); raises InvalidInput."""
        clean: dict[str, str | datetime | None] = {}
        for name, value in criteria.items():
            if isinstance(value, str):
                value = value.strip() or None
                if value is not None and name in ("party", "place", "cause_of_action"):
                    value = fold_term(value)
            clean[name] = value
        try:
            return cls.model_validate(clean)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise InvalidInput(_first_message(exc)) from exc

    @model_validator(mode="after")
    def _check(self) -> ItemSearch:
        if all(v is None for v in self.model_dump().values()):
            raise ValueError("give at least one search criterion")
        for name in ("captured_from", "captured_to"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} must include a timezone offset")
        if (self.captured_from and self.captured_to
                and self.captured_from > self.captured_to):
            raise ValueError("captured_from is later than captured_to")
        return self


def _first_message(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        for err in errors():
            return str(err.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
