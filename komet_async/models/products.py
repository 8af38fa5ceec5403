"""Product model: ``product.list`` records."""

from __future__ import annotations

import attrs

__all__ = ["Product"]


@attrs.frozen
class Product:
    """A product as ``product.list`` returns it (ordered by description)."""

    id: int
    description: str
    active: bool | None = None
    category: str | None = None
    division_id: int | None = None
    #: FreshCutFlowers, Plants or Hard Goods.
    division_description: str | None = None
    variety: str | None = None
    color: str | None = None
    #: Grade or length.
    grade: str | None = None
    legacy_code: str | None = None
    #: Sent as one comma-separated string.
    tags: tuple[str, ...] = ()
