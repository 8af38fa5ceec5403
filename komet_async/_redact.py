"""Redaction: the one place that keeps secrets out of logs, errors and reprs.

A :class:`Redactor` knows the secret values of one client (the Komet token,
Kounta client secret, OAuth tokens) and the names of query parameters that
carry secrets. Everything the library prints or puts in an exception passes
through it first: URLs, body excerpts, and the text of third-party exceptions
(aiohttp prints request URLs, and Komet GET URLs carry the token).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping

import attrs

REDACTED = "***"

#: Query/body parameter names whose values are always secret, whatever they are.
SECRET_PARAMETERS = frozenset(
    {
        "authenticationtoken",
        "access_token",
        "refresh_token",
        "client_secret",
        "token",
        "password",
    }
)

#: Header names whose values are always secret.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


class RedactedError(Exception):
    """Stands in for a third-party exception whose text carried a secret.

    The original is kept out of the chain (its ``str`` would print the secret);
    this copy keeps its type name and redacted message, so tracebacks still say
    what went wrong.
    """


@attrs.frozen(repr=False)
class Redactor:
    """Replaces secret values in text with ``***``."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, *values: str | None) -> Redactor:
        """Build a redactor for the given secrets, ignoring empty ones."""
        return cls(_variants(v for v in values if v))

    def with_secrets(self, *values: str | None) -> Redactor:
        """Return a redactor that also hides ``values`` (for rotated OAuth tokens)."""
        return Redactor(tuple(dict.fromkeys(self.secrets + _variants(v for v in values if v))))

    def __repr__(self) -> str:
        return f"Redactor(<{len(self.secrets)} secrets>)"

    def text(self, text: str) -> str:
        """Return ``text`` with every known secret value replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def contains_secret(self, text: str) -> bool:
        """Tell whether ``text`` carries a known secret value."""
        return any(secret in text for secret in self.secrets)

    def url(self, url: str) -> str:
        """Return ``url`` with secret query parameters and secret values hidden.

        Never raises: a URL urllib refuses (an unclosed ``[`` IPv6 host, a port
        out of range) is redacted as text instead, since this runs while an
        error message is being built and must not replace that error.
        """
        try:
            return self.text(_redact_parsed_url(url))
        except ValueError:
            return self.text(_redact_url_text(url))

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Return a copy of ``headers`` with credentials hidden."""
        return {k: (REDACTED if k.lower() in SECRET_HEADERS else self.text(v)) for k, v in headers}

    def exception(self, exc: BaseException) -> BaseException:
        """Return ``exc`` if its text is clean, else a :class:`RedactedError` copy.

        Used as the ``__cause__`` of our own errors: tracebacks print the whole
        chain, and aiohttp's exceptions print the request URL.
        """
        if not self.secrets:
            return exc
        try:
            dirty = self.contains_secret(str(exc)) or self.contains_secret(repr(exc))
        except Exception:  # a broken __str__ must not hide the real error
            dirty = True
        if not dirty:
            return exc
        try:
            message = self.text(str(exc))
        except Exception:
            message = "<unprintable>"
        clean = RedactedError(f"{type(exc).__module__}.{type(exc).__qualname__}: {message}")
        cause = exc.__cause__ or exc.__context__
        if cause is not None and cause is not exc:
            clean.__cause__ = self.exception(cause)
        return clean.with_traceback(exc.__traceback__)


def _host_port(parts: urllib.parse.SplitResult) -> str:
    """The netloc without userinfo (``hostname`` drops IPv6 brackets: put them back)."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return host


def _redact_parsed_url(url: str) -> str:
    """Secret query values and userinfo replaced (raises ``ValueError`` if urllib cannot parse)."""
    parts = urllib.parse.urlsplit(url)
    if parts.query:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(
            f"{urllib.parse.quote(k, safe='')}="
            + (REDACTED if k.lower() in SECRET_PARAMETERS else urllib.parse.quote(v, safe=""))
            for k, v in pairs
        )
        parts = parts._replace(query=query)
    if parts.password or parts.username:
        parts = parts._replace(netloc=f"{REDACTED}@{_host_port(parts)}")
    return urllib.parse.urlunsplit(parts)


#: RFC 3986, appendix B: splits any string into scheme, authority, path, query
#: and fragment, and never fails (every part is optional).
_URL_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.S)


def _split_url_text(url: str) -> tuple[str | None, str | None, str, str | None, str | None]:
    """The five parts of any string read as a URL, without validating any of them."""
    match = _URL_PARTS.fullmatch(url)
    if match is None:  # pragma: no cover - the pattern matches every string
        return None, None, url, None, None
    scheme, authority, path, query, fragment = match.groups()
    return scheme, authority, path, query, fragment


def _join_url_text(
    scheme: str | None, authority: str | None, path: str, query: str | None, fragment: str | None
) -> str:
    return "".join(
        (
            f"{scheme}:" if scheme is not None else "",
            f"//{authority}" if authority is not None else "",
            path,
            f"?{query}" if query is not None else "",
            f"#{fragment}" if fragment is not None else "",
        )
    )


def _redact_query_pair(pair: str) -> str:
    key = pair.partition("=")[0]
    if urllib.parse.unquote_plus(key).lower() in SECRET_PARAMETERS:
        return f"{key}={REDACTED}"
    return pair


def _redact_url_text(url: str) -> str:
    """:meth:`Redactor.url` for a URL urllib refuses: the same redactions, done on the text.

    Userinfo is everything before the last ``@`` of the authority; query pairs
    are split on ``&`` and kept as written, but for secret ones' values.
    """
    scheme, authority, path, query, fragment = _split_url_text(url)
    if authority is not None and "@" in authority:
        authority = f"{REDACTED}@{authority.rpartition('@')[2]}"
    if query is not None:
        query = "&".join(_redact_query_pair(pair) for pair in query.split("&"))
    return _join_url_text(scheme, authority, path, query, fragment)


#: The characters yarl (aiohttp's URL library) leaves as they are in a query
#: value, besides letters, digits and ``-._~``: a secret in a request URL is
#: spelt ``quote_plus(secret, safe=_YARL_QUERY_SAFE)`` in aiohttp's messages.
_YARL_QUERY_SAFE = "!$'()*,/:?@"


def _spellings(value: str) -> list[str]:
    """The ways one secret is written in URLs, form bodies and JSON."""
    return [
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),  # urllib's default keeps "/"
        urllib.parse.quote_plus(value, safe=""),
        urllib.parse.quote_plus(value, safe=_YARL_QUERY_SAFE),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    ]


def _variants(values: Iterable[str]) -> tuple[str, ...]:
    """Return each secret plus the forms it takes inside URLs and JSON.

    Each spelling is also taken once more percent-encoded: a URL quoted inside
    another (a redirect's ``?next=``, a logged request line) encodes it twice.
    """
    out: dict[str, None] = {}
    for value in values:
        spellings = _spellings(value)
        twice = [
            again
            for s in spellings
            for again in (
                urllib.parse.quote(s, safe=""),
                urllib.parse.quote_plus(s, safe=_YARL_QUERY_SAFE),
            )
        ]
        for form in (*spellings, *twice):
            if form:
                out[form] = None
    # Longest first, so a secret that contains another is replaced whole.
    return tuple(sorted(out, key=len, reverse=True))


def redacted_url(url: str) -> str:
    """A URL for a ``repr`` where no redactor is at hand: no userinfo, no query values.

    For ``RequestSpec``: the URL of a followed redirect or next page is the
    server's, and a hostile one may have echoed credentials into it.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = _host_port(parts)
    except ValueError:  # unparsable: strip the same parts from the text
        scheme, authority, path, query, _ = _split_url_text(url)
        if authority is not None:
            authority = authority.rpartition("@")[2]
        hidden = REDACTED if query else None
        return repr(_join_url_text(scheme, authority, path, hidden, None))
    query = REDACTED if parts.query else ""
    return repr(urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query, fragment="")))


def redacted_params(params: Mapping[str, str] | None) -> str:
    """The ``repr`` of query parameters with the values of secret ones hidden.

    For ``RequestSpec``: a Komet GET carries its token in ``params``.
    """
    if params is None:
        return "None"
    return repr({k: REDACTED if k.lower() in SECRET_PARAMETERS else v for k, v in params.items()})
