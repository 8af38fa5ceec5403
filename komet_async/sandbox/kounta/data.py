"""The Kounta sandbox's in-memory store: customers, their validation, lookups and views.

Records are kept as the JSON dicts the server sends (snake_case keys, as
Kounta spells them). :class:`KountaData` gives them to tests as the library's
own :class:`~komet_async.kounta.Customer` models, decoded with the strict
converter so a record the models cannot read fails loudly.

Two views of a customer go over the wire:

- the **full record** (every field): ``GET .../customers/{id}``, the
  ``reference_id`` lookup, create and update answers, webhook deliveries;
- the **abridged record** (:data:`ABRIDGED_FIELDS` only): the pages of the
  unfiltered ``GET .../customers`` listing, unless the sandbox is built with
  ``abridged_lists=False``.

Writes stamp ``updated_at`` from a fake clock that starts on
:data:`WRITE_CLOCK_START` and moves one minute per write, so updated
timestamps are deterministic and later than every generated one.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..._converters import Decoder
from ...kounta.models import Customer
from .generate import aest_stamp, generate_customers

__all__ = [
    "ABRIDGED_FIELDS",
    "CREATE_FIELDS",
    "MODIFIABLE_FIELDS",
    "WRITE_CLOCK_START",
    "KountaAPIError",
    "KountaData",
]

#: The fields a page of the unfiltered listing shows.
ABRIDGED_FIELDS: Final = ("id", "first_name", "last_name", "email", "reference_id", "updated_at")
#: The fields ``PUT .../customers/{id}`` may change (anything else is a 400).
MODIFIABLE_FIELDS: Final = frozenset(
    {
        "first_name", "last_name", "phone", "email", "mobile", "tags", "image",
        "primary_address", "shipping_address", "reference_id", "accepts_marketing",
    }
)  # fmt: skip
#: The fields ``POST .../customers`` accepts: the same set.
CREATE_FIELDS: Final = MODIFIABLE_FIELDS
#: Sydney wall time of the first write the sandbox serves.
WRITE_CLOCK_START: Final = dt.datetime(2026, 7, 1, 9, 0, 0)

_ADDRESS_FIELDS: Final = frozenset({"lines", "city", "zone", "postal_code", "country"})
_EMPTY_ADDRESS: Final = {k: None for k in ("lines", "city", "zone", "postal_code", "country")}
_STRING_FIELDS: Final = ("first_name", "last_name", "phone", "email", "mobile", "image")


class KountaAPIError(Exception):
    """A request the sandbox refuses: the HTTP status and Kounta's JSON error body."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The JSON error body, OAuth style."""
        return {"error": self.error, "error_description": self.description}


def _bad(description: str) -> KountaAPIError:
    return KountaAPIError(400, "invalid_request", description)


class KountaData:
    """The company's customers, with the queries and writes the routes need.

    ``customers`` are the current full records as models; ``listed`` the
    same customers as the listing's pages show them.
    """

    def __init__(
        self, *, seed: int, customers: int, company_id: int, abridged_lists: bool = True
    ) -> None:
        self.company_id = company_id
        self.abridged_lists = abridged_lists
        self._records: dict[int, dict[str, Any]] = {
            int(r["id"]): r for r in generate_customers(seed, customers, company_id)
        }
        self._ordered: list[int] | None = None
        self._writes = 0
        self._decoder = Decoder(naming="snake", strict=True)

    def __repr__(self) -> str:
        return f"<KountaData company={self.company_id} customers={len(self._records)}>"

    def __len__(self) -> int:
        return len(self._records)

    # --- what tests look at -------------------------------------------------------

    @property
    def customers(self) -> list[Customer]:
        """Every current customer, full record, sorted by id."""
        return [self.model(self._records[i]) for i in self._ids()]

    @property
    def listed(self) -> list[Customer]:
        """Every customer as the listing pages show them (abridged unless turned off)."""
        return [self.model(self.list_view(self._records[i])) for i in self._ids()]

    def customer(self, customer_id: int) -> Customer | None:
        """One customer's full record as a model, or ``None``."""
        record = self._records.get(customer_id)
        return None if record is None else self.model(record)

    def record(self, customer_id: int) -> dict[str, Any] | None:
        """A copy of one customer's wire dict (``None`` if there is none)."""
        record = self._records.get(customer_id)
        return None if record is None else copy.deepcopy(record)

    def model(self, record: Mapping[str, Any]) -> Customer:
        """A wire dict as the library's model (strict: unknown keys are an error)."""
        return self._decoder.structure(record, Customer)

    def list_view(self, record: dict[str, Any]) -> dict[str, Any]:
        """What a listing page shows of ``record``."""
        if not self.abridged_lists:
            return record
        return {k: record[k] for k in ABRIDGED_FIELDS if k in record}

    # --- queries --------------------------------------------------------------

    def page(self, number: int, size: int) -> tuple[list[dict[str, Any]], bool]:
        """Page ``number`` (1-based) of the listing, and whether another page follows."""
        ids = self._ids()
        start = (number - 1) * size
        chunk = [self.list_view(self._records[i]) for i in ids[start : start + size]]
        return chunk, start + size < len(ids)

    def get(self, customer_id: int) -> dict[str, Any]:
        """The full record of ``customer_id``; 404 if there is none."""
        record = self._records.get(customer_id)
        if record is None:
            raise KountaAPIError(404, "not_found", f"Customer {customer_id} was not found.")
        return record

    def by_reference(self, reference_id: str) -> list[dict[str, Any]]:
        """Every customer carrying ``reference_id`` (full records, maybe none)."""
        return [
            self._records[i]
            for i in self._ids()
            if self._records[i]["reference_id"] == reference_id
        ]

    def lookup(self, query: Mapping[str, str]) -> int | None:
        """The id a ``?email=`` / ``?mobile=`` / name-and-phone lookup redirects to.

        Emails and names compare case-insensitively; with several matches the
        lowest id wins. Anything but exactly one kind of lookup is a 400.
        """
        kinds = [k for k in ("email", "mobile") if k in query]
        name_keys = [k for k in ("first_name", "last_name", "phone") if k in query]
        if name_keys:
            if len(name_keys) != 3:
                raise _bad("first_name, last_name and phone must all be provided.")
            kinds.append("name")
        if len(kinds) != 1:
            raise _bad("Look customers up by one of email, mobile or first_name+last_name+phone.")
        want = {k: v.strip().lower() for k, v in query.items()}
        for i in self._ids():
            r = self._records[i]
            if kinds == ["email"]:
                hit = str(r["email"] or "").lower() == want["email"]
            elif kinds == ["mobile"]:
                hit = r["mobile"] == query["mobile"].strip()
            else:
                hit = (
                    str(r["first_name"] or "").lower() == want["first_name"]
                    and str(r["last_name"] or "").lower() == want["last_name"]
                    and r["phone"] == query["phone"].strip()
                )
            if hit:
                return i
        return None

    # --- writes ---------------------------------------------------------------

    def create(self, body: Any) -> dict[str, Any]:
        """Validate and store a new customer; return its full record."""
        fields = self._checked(body, CREATE_FIELDS, exclude_id=None)
        if not _text(fields.get("first_name")):
            raise _bad("first_name is required.")
        if not any(_text(fields.get(k)) for k in ("email", "phone", "mobile")):
            raise _bad("One of email, phone or mobile is required.")
        new_id = max(self._records, default=0) + 1
        stamp = self._tick()
        record: dict[str, Any] = {
            "id": new_id,
            "company_id": self.company_id,
            "first_name": None,
            "last_name": None,
            "email": None,
            "phone": None,
            "mobile": None,
            "reference_id": "",
            "tags": [],
            "image": None,
            "primary_address": None,
            "shipping_address": None,
            "accepts_marketing": False,
            "points": 0,
            "created_at": stamp,
            "updated_at": stamp,
        }
        _apply(record, fields)
        self._records[new_id] = record
        self._ordered = None
        return record

    def update(self, customer_id: int, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply a PUT body; return the record before and after (both full records).

        Only :data:`MODIFIABLE_FIELDS` are accepted; an address given in part
        changes only the address fields given.
        """
        record = self.get(customer_id)
        fields = self._checked(body, MODIFIABLE_FIELDS, exclude_id=customer_id)
        if not fields:
            raise _bad("Nothing to update: give at least one modifiable field.")
        if "first_name" in fields and not _text(fields["first_name"]):
            raise _bad("first_name cannot be empty.")
        before = copy.deepcopy(record)
        _apply(record, fields)
        record["updated_at"] = self._tick()
        return before, record

    def delete(self, customer_id: int) -> dict[str, Any]:
        """Remove a customer; return the record it had."""
        record = self.get(customer_id)
        del self._records[customer_id]
        self._ordered = None
        return record

    # --- helpers --------------------------------------------------------------

    def _ids(self) -> list[int]:
        if self._ordered is None:
            self._ordered = sorted(self._records)
        return self._ordered

    def _tick(self) -> str:
        self._writes += 1
        return aest_stamp(WRITE_CLOCK_START + dt.timedelta(minutes=self._writes))

    def _checked(
        self, body: Any, allowed: Iterable[str], *, exclude_id: int | None
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object.")
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise _bad(f"These fields cannot be set: {', '.join(unknown)}.")
        for name in _STRING_FIELDS:
            if body.get(name) is not None and not isinstance(body[name], str):
                raise _bad(f"{name} must be a string.")
        if body.get("reference_id") is not None and not isinstance(body["reference_id"], str):
            raise _bad("reference_id must be a string.")
        tags = body.get("tags")
        if tags is not None and not (
            isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        ):
            raise _bad("tags must be a list of strings.")
        marketing = body.get("accepts_marketing")
        if marketing is not None and not isinstance(marketing, bool):
            raise _bad("accepts_marketing must be true or false.")
        for name in ("primary_address", "shipping_address"):
            if body.get(name) is not None:
                _check_address(name, body[name])
        mobile = body.get("mobile")
        if _text(mobile):
            clash = next(
                (i for i, r in self._records.items() if r["mobile"] == mobile and i != exclude_id),
                None,
            )
            if clash is not None:
                raise _bad("mobile must be unique within the company.")
        return dict(body)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_address(name: str, address: Any) -> None:
    if not isinstance(address, dict):
        raise _bad(f"{name} must be an object.")
    unknown = sorted(set(address) - _ADDRESS_FIELDS)
    if unknown:
        raise _bad(f"{name}: unknown fields {', '.join(unknown)}.")
    lines = address.get("lines")
    if lines is not None and not (
        isinstance(lines, list) and all(isinstance(line, str) for line in lines)
    ):
        raise _bad(f"{name}.lines must be a list of strings.")
    for key in ("city", "zone", "postal_code"):
        if address.get(key) is not None and not isinstance(address[key], str):
            raise _bad(f"{name}.{key} must be a string.")
    country = address.get("country")
    if country is not None and not (
        isinstance(country, str) and len(country) == 2 and country.isascii() and country.isalpha()
    ):
        raise _bad(f"{name}.country must be a two-letter ISO 3166-1 country code.")


def _apply(record: dict[str, Any], fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if name in ("primary_address", "shipping_address") and value is not None:
            merged = dict(record.get(name) or _EMPTY_ADDRESS)
            merged.update(value)
            merged["lines"] = list(merged.get("lines") or [])
            record[name] = merged
        elif name == "reference_id":
            record[name] = value or ""  # Kounta's spelling of "no reference"
        elif name == "tags":
            record[name] = list(value or [])
        elif name == "accepts_marketing":
            record[name] = bool(value)
        else:
            record[name] = value
