"""product.list against the sandbox, over a real socket."""

from __future__ import annotations

import pytest

from komet_async import APIError, KometClient
from komet_async.sandbox import KometSandbox


async def test_list_returns_every_product_ordered_by_description(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """product.list returns every product (inactive too), ordered by description."""
    found = await client.products.list()
    assert found == sandbox.data.products
    assert len(found) == 200
    assert [p.description.lower() for p in found] == sorted(p.description.lower() for p in found)
    assert any(p.active is False for p in found)


async def test_description_is_a_case_insensitive_contains(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """description matches anywhere ("rose" finds Spray Rose too), in description order."""
    expected = [p for p in sandbox.data.products if "rose" in p.description.lower()]
    found = await client.products.list(description="ROSE")
    assert found == expected
    assert {p.category for p in found} >= {"Rose", "Spray Rose"}


async def test_legacy_code_is_exact_and_case_insensitive(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """legacyCode matches the whole code in any case; a prefix matches nothing."""
    target = sandbox.data.products[17]
    assert target.legacy_code is not None
    assert await client.products.list(legacy_code=target.legacy_code.lower()) == [target]
    assert await client.products.list(legacy_code=target.legacy_code[:3]) == []


async def test_id_is_exact(sandbox: KometSandbox, client: KometClient) -> None:
    """id returns that one product."""
    target = sandbox.data.products[42]
    assert await client.products.list(id=target.id) == [target]


async def test_filters_combine(sandbox: KometSandbox, client: KometClient) -> None:
    """description and id together must both match."""
    target = next(p for p in sandbox.data.products if "Rose" not in p.description)
    assert await client.products.list(id=target.id, description="rose") == []
    word = target.description.split()[0]
    assert await client.products.list(id=target.id, description=word) == [target]


async def test_no_match_is_an_empty_list(client: KometClient) -> None:
    """A filter matching nothing gives []."""
    assert await client.products.list(description="plastic tulip") == []


async def test_no_match_is_status_0_products_not_found(client: KometClient) -> None:
    """On the wire an empty result is status 0 with "Products not found."."""
    with pytest.raises(APIError) as info:
        await client.call("product.list", params={"legacyCode": "NOPE"})
    assert info.value.message == "Products not found."
    assert info.value.is_not_found


async def test_non_numeric_id_is_refused(client: KometClient) -> None:
    """A non-numeric id is status 0 naming the parameter, not an empty result."""
    with pytest.raises(APIError, match="Invalid id") as info:
        await client.call("product.list", params={"id": "twelve"})
    assert not info.value.is_not_found
