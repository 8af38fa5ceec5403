"""Products: ``product.list``."""

from __future__ import annotations

import builtins

import attrs

from .._wire import wire
from ..models.products import Product
from ._base import Resource

__all__ = ["ProductListQuery", "Products"]


@attrs.frozen(kw_only=True)
class ProductListQuery:
    """The filters of ``product.list``."""

    id: int | None = attrs.field(default=None, metadata=wire(max_digits=20))
    description: str | None = attrs.field(default=None, metadata=wire(max_len=200))
    legacy_code: str | None = attrs.field(default=None, metadata=wire(max_len=50))


class Products(Resource):
    """``client.products``: list products."""

    __slots__ = ()

    async def list(
        self,
        *,
        id: int | None = None,
        description: str | None = None,
        legacy_code: str | None = None,
    ) -> builtins.list[Product]:
        """GET product.list: products ordered by description.

        ``id`` and ``legacy_code`` match exactly; ``description`` is a
        case-insensitive "contains" match. An empty result is ``[]``.
        """
        query = None  # no filters: nothing to validate or encode
        if not (id is None and description is None and legacy_code is None):
            query = ProductListQuery(id=id, description=description, legacy_code=legacy_code)
        client = self._client
        response = await client._list_response("product.list", query)
        return client._list_records(response, "product.list", key="products", model=Product)
