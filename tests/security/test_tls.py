"""TLS: certificates are verified by default, and only a session of your own turns that off.

The server is an aiohttp HTTPS server on 127.0.0.1 with a self-signed
certificate (``data/selfsigned-127.0.0.1.pem``, certificate and key, a test
fixture valid until 2126): a client that verifies must refuse it.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from komet_async import KometClient, RetryPolicy, TransportError
from komet_async.kounta import BasicAuth, KountaClient

from ..conftest import TOKEN

CERTIFICATE = Path(__file__).with_name("data") / "selfsigned-127.0.0.1.pem"
README = Path(__file__).parents[2] / "README.md"


async def products(request: web.Request) -> web.Response:
    return web.json_response({"status": "1", "products": []})


async def customer(request: web.Request) -> web.Response:
    return web.json_response({"id": 1, "first_name": "Jamie"})


@pytest.fixture
async def https_root() -> AsyncIterator[str]:
    """An HTTPS server with a self-signed certificate; yields ``https://127.0.0.1:port``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERTIFICATE)
    app = web.Application()
    app.router.add_get("/api/product.list", products)
    app.router.add_get("/v1/companies/1/customers/1", customer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def trusting(certificate: Path) -> ssl.SSLContext:
    """A verifying context that trusts ``certificate`` (a private CA, say)."""
    context = ssl.create_default_context(cafile=str(certificate))
    # Python 3.13 adds strict X.509 checks that a bare self-signed test certificate fails.
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return context


async def test_komet_client_verifies_certificates_by_default(https_root: str) -> None:
    """The session KometClient creates refuses an untrusted certificate: TransportError, unsent."""
    base = f"{https_root}/api"
    async with KometClient(TOKEN, base_url=base, retry=RetryPolicy.disabled()) as komet:
        with pytest.raises(TransportError, match="certificate verify failed") as info:
            await komet.products.list()
    assert info.value.request_sent is False
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorCertificateError)
    assert TOKEN not in str(info.value)


async def test_kounta_client_verifies_certificates_by_default(https_root: str) -> None:
    """The session KountaClient creates refuses an untrusted certificate too."""
    auth = BasicAuth("app", "cs-1")
    base = f"{https_root}/v1"
    async with KountaClient(1, auth=auth, base_url=base, retry=RetryPolicy.disabled()) as kounta:
        with pytest.raises(TransportError, match="certificate verify failed"):
            await kounta.customers.get(1)


async def test_verification_off_takes_your_own_session(https_root: str) -> None:
    """Only a caller's session with TCPConnector(ssl=False) skips verification; it stays open."""
    connector = aiohttp.TCPConnector(ssl=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with KometClient(TOKEN, base_url=f"{https_root}/api", session=session) as komet:
            assert await komet.products.list() == []
        assert not session.closed


async def test_a_private_ca_is_trusted_through_your_own_session(https_root: str) -> None:
    """Verification stays on with a caller's session that trusts a given CA, and then succeeds."""
    connector = aiohttp.TCPConnector(ssl=trusting(CERTIFICATE))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        KometClient(TOKEN, base_url=f"{https_root}/api", session=session) as komet,
    ):
        assert await komet.products.list() == []


@pytest.mark.parametrize("client", [KometClient, KountaClient])
def test_no_option_turns_verification_off(client: type[object]) -> None:
    """Neither client takes an ssl/verify option: turning verification off is never a flag."""
    names = set(inspect.signature(client).parameters)
    assert not {n for n in names if "ssl" in n or "verif" in n or "cert" in n}


def test_documentation_says_how_to_turn_verification_off() -> None:
    """The KometClient docstring and the README both name TCPConnector(ssl=False) and a session."""
    assert "TCPConnector(ssl=False)" in (KometClient.__doc__ or "")
    readme = README.read_text(encoding="utf-8")
    tls = readme[readme.index("### TLS") :]
    assert "TCPConnector(ssl=False)" in tls
    assert "session=" in tls
