"""URLs urllib refuses are still redacted, never raised on: the CLI's base-URL check needs it."""

from __future__ import annotations

import pytest

from komet_async import KometClient, RetryPolicy, ValidationError
from komet_async._redact import Redactor, redacted_url

from ..conftest import TOKEN


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://[::1", "http://[::1"),
        (
            f"http://[::1/api/product.list?authenticationToken={TOKEN}&a=1",
            "http://[::1/api/product.list?authenticationToken=***&a=1",
        ),
        ("http://user:pw@[::1/api", "http://***@[::1/api"),
        ("http://us@r:p@ss@[::1/api", "http://***@[::1/api"),
        ("https://user:pw@host:99999/p?q=1", "https://***@host:99999/p?q=1"),
        ("https://host:port/p?Access_Token=abc&x=y", "https://host:port/p?Access_Token=***&x=y"),
        (f"http://[::1/{TOKEN}/x?note=a-{TOKEN}#frag", "http://[::1/***/x?note=a-***#frag"),
        (
            "http://[::1/p?token&authenticationToken%3D=q",
            "http://[::1/p?token=***&authenticationToken%3D=q",
        ),
        ("[::1", "[::1"),
    ],
)
def test_redactor_url_redacts_what_urllib_cannot_parse(url: str, expected: str) -> None:
    """An unparsable URL loses userinfo, secret parameters and the token, as text."""
    assert Redactor.of(TOKEN).url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@[::1]:8443/p?q=1", "https://***@[::1]:8443/p?q=1"),
        ("https://user:pw@h:8443/p?q=1", "https://***@h:8443/p?q=1"),
    ],
)
def test_redactor_url_keeps_ipv6_brackets(url: str, expected: str) -> None:
    """Hiding the userinfo of an IPv6 URL keeps the host in brackets."""
    assert Redactor.of(TOKEN).url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://user:pw@[::1/api?authenticationToken=x#f", "'http://[::1/api?***'"),
        ("http://user:pw@host:99999/p", "'http://host:99999/p'"),
        ("http://user:pw@[::1]:8080/p?a=1#f", "'http://[::1]:8080/p?***'"),
    ],
)
def test_redacted_url_drops_userinfo_query_and_fragment_of_any_url(url: str, expected: str) -> None:
    """The repr helper strips userinfo, query values and fragment, parsable or not."""
    assert redacted_url(url) == expected


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("http://[::1/api", "base_url: 'http://[::1/api' is not a URL (Invalid IPv6 URL)"),
        (
            "http://user:pw@[::1/api",
            "base_url: 'http://***@[::1/api' is not a URL (Invalid IPv6 URL)",
        ),
        ("http://host:99999/api", "base_url: 'http://host:99999/api' is not a URL"),
        (
            "ftp://host/api",
            "base_url: 'ftp://host/api' is not an http:// or https:// URL with a host",
        ),
        ("/api", "base_url: '/api' is not an http:// or https:// URL with a host"),
    ],
)
def test_client_with_an_unusable_base_url_is_refused_when_built(
    base_url: str, problem: str
) -> None:
    """A base URL aiohttp could not send to is a ValidationError at construction, redacted."""
    with pytest.raises(ValidationError) as info:
        KometClient(TOKEN, base_url=base_url, retry=RetryPolicy.disabled())
    (found,) = info.value.problems
    assert found.startswith(problem)
    assert "pw" not in str(info.value)


def test_kounta_client_refuses_an_unusable_base_url() -> None:
    """KountaClient checks its base URL like KometClient, credentials kept out of the error."""
    from komet_async.kounta import BasicAuth, KountaClient

    with pytest.raises(ValidationError) as info:
        KountaClient(5678, auth=BasicAuth("id", "s3cret"), base_url="https://u:pw@[::1/v1")
    assert info.value.problems == (
        "base_url: 'https://***@[::1/v1' is not a URL (Invalid IPv6 URL)",
    )
    assert "pw" not in repr(info.value)
