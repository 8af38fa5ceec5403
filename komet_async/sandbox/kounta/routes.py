"""The Kounta sandbox's routes: what each one does once the request passed the gate.

See :mod:`komet_async.sandbox.kounta.app` for the steps every request goes
through first (counting, latency, rate limit, faults, credentials).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ..._sansio import decode_json
from ..data import dumps
from ..faults import SLOW
from ..inject import fault_response
from .auth import TOKEN_TYPE
from .data import KountaAPIError

if TYPE_CHECKING:
    from .app import KountaState

__all__ = ["API_PREFIX", "Routes", "json_response"]

_LOOKUP_KEYS: Final = frozenset({"email", "mobile", "first_name", "last_name", "phone"})
#: Every route lives under this path, as on api.kounta.com.
API_PREFIX: Final = "/v1"
_OTHER_HOST: Final = "elsewhere.invalid"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer."""
    return web.Response(
        status=status, body=dumps(payload), content_type="application/json", headers=headers
    )


def _bad(description: str) -> KountaAPIError:
    return KountaAPIError(400, "invalid_request", description)


class Routes:
    """The route handlers over one :class:`~komet_async.sandbox.kounta.app.KountaState`."""

    def __init__(self, state: KountaState) -> None:
        self.state = state

    # --- customers --------------------------------------------------------------

    @staticmethod
    def collection_name(request: web.Request) -> str:
        """Which of the three ``GET .../customers`` routes a request is."""
        query = request.query
        if "reference_id" in query:
            return "customers.find_by_reference"
        if _LOOKUP_KEYS & set(query):
            return "customers.find"
        return "customers.list"

    async def collection(self, request: web.Request) -> web.StreamResponse:
        """``GET .../customers``: a page of the listing, a reference query, or a lookup."""
        name = self.collection_name(request)
        if name == "customers.find_by_reference":
            return self._by_reference(request)
        if name == "customers.find":
            return self._lookup(request)
        return self._page(request)

    def _page(self, request: web.Request) -> web.StreamResponse:
        options = self.state.options
        raw = request.query.get("page", "1")
        if not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            raise _bad(f"page must be a positive integer, got {raw!r}.")
        number = int(raw)
        items, more = self.state.data.page(number, options.page_size)
        headers = {}
        if more:
            style = options.next_page
            following = 2 if style == "repeat" and number >= 2 else number + 1
            path = f"{request.path}?page={following}"
            if style == "relative":
                headers["X-Next-Page"] = path
            elif style == "other_host":
                headers["X-Next-Page"] = f"http://{_OTHER_HOST}:{request.url.port}{path}"
            else:
                headers["X-Next-Page"] = f"{request.url.origin()}{path}"
        return json_response(items, headers=headers)

    def _by_reference(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if _LOOKUP_KEYS & set(query):
            raise _bad("reference_id cannot be combined with another lookup.")
        reference = query["reference_id"]
        if not reference.strip():
            raise _bad("reference_id must not be empty.")
        # Always 200: zero or more customers may share a reference id.
        return json_response(self.state.data.by_reference(reference))

    def _lookup(self, request: web.Request) -> web.StreamResponse:
        found = self.state.data.lookup(request.query)
        if found is None:
            raise KountaAPIError(404, "not_found", "No customer matches the lookup.")
        return web.Response(status=302, headers={"Location": self._location(request, found)})

    def _location(self, request: web.Request, customer_id: int, kind: str = "customers") -> str:
        path = f"{API_PREFIX}/companies/{self.state.data.company_id}/{kind}/{customer_id}"
        if self.state.options.relative_locations:
            return path
        return f"{request.url.origin()}{path}"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """``GET .../customers/{id}``: the full record."""
        return json_response(self.state.data.get(int(request.match_info["id"])))

    async def create(self, request: web.Request) -> web.StreamResponse:
        """``POST .../customers``: store, deliver ``customers/created``, answer 201."""
        state = self.state
        record = state.data.create(await json_body(request))
        state.deliverer.publish("customers/created", record)
        headers = {"Location": self._location(request, record["id"])}
        if state.options.empty_create_body:
            response = web.Response(status=201, headers=headers)
        else:
            response = json_response(record, status=201, headers=headers)
        return await self._after_store(request, "customers.create", response)

    async def update(self, request: web.Request) -> web.StreamResponse:
        """``PUT .../customers/{id}``: apply, deliver ``customers/updated``, answer the record."""
        state = self.state
        before, after = state.data.update(int(request.match_info["id"]), await json_body(request))
        changed = [k for k in after if k != "updated_at" and before.get(k) != after[k]]
        state.deliverer.publish("customers/updated", after, changed)
        return await self._after_store(request, "customers.update", json_response(after))

    async def delete(self, request: web.Request) -> web.StreamResponse:
        """``DELETE .../customers/{id}``: remove, deliver ``customers/deleted``, answer 204."""
        record = self.state.data.delete(int(request.match_info["id"]))
        self.state.deliverer.publish("customers/deleted", record)
        return await self._after_store(request, "customers.delete", web.Response(status=204))

    # --- webhook subscriptions ----------------------------------------------------

    async def webhooks_list(self, request: web.Request) -> web.StreamResponse:
        """``GET .../webhooks``."""
        return json_response(self.state.webhooks.all())

    async def webhooks_get(self, request: web.Request) -> web.StreamResponse:
        """``GET .../webhooks/{id}``."""
        return json_response(self.state.webhooks.get(int(request.match_info["id"])))

    async def webhooks_create(self, request: web.Request) -> web.StreamResponse:
        """``POST .../webhooks``: 201 with ``Location`` and the subscription."""
        hook = self.state.webhooks.create(await json_body(request))
        headers = {"Location": self._location(request, hook["id"], "webhooks")}
        response = json_response(hook, status=201, headers=headers)
        return await self._after_store(request, "webhooks.create", response)

    async def webhooks_update(self, request: web.Request) -> web.StreamResponse:
        """``PUT .../webhooks/{id}``: replace the subscription."""
        webhook_id = int(request.match_info["id"])
        hook = self.state.webhooks.replace(webhook_id, await json_body(request))
        return await self._after_store(request, "webhooks.update", json_response(hook))

    async def webhooks_delete(self, request: web.Request) -> web.StreamResponse:
        """``DELETE .../webhooks/{id}``: 204."""
        self.state.webhooks.delete(int(request.match_info["id"]))
        return await self._after_store(request, "webhooks.delete", web.Response(status=204))

    # --- OAuth2 -------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/token``: spend a refresh token for a new (rotated) pair."""
        tokens = self.state.tokens
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if fields.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        basic = request.headers.get("Authorization", "")
        client_ok = tokens.basic_ok(basic) if basic else False
        if not client_ok:
            client_ok = tokens.client_ok(
                fields.get("client_id", ""), fields.get("client_secret", "")
            )
        if not client_ok:
            return json_response({"error": "invalid_client"}, status=401)
        pair = tokens.refresh(fields.get("refresh_token", ""))
        if pair is None:
            return json_response({"error": "invalid_grant"}, status=400)
        self.state.stats.refreshes += 1
        access, refresh = pair
        return json_response(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": int(tokens.lifetime),
                "token_type": TOKEN_TYPE,
            },
            # As RFC 6749 section 5.1 asks of token answers.
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    # --- helpers ------------------------------------------------------------------

    async def _after_store(
        self, request: web.Request, name: str, response: web.StreamResponse
    ) -> web.StreamResponse:
        """Let the ``after_store`` plan lose the answer of a write that was kept."""
        state = self.state
        plan = state.after_store
        if plan is None:
            return response
        kind = plan.decide(state.next_write_seq(), name)
        if kind is None:
            return response
        state.count_fault(kind)
        if kind == SLOW:
            await state.pause(plan.slow_delay)
            return response
        return await fault_response(kind, request, plan)


async def json_body(request: web.Request) -> Any:
    """The request's JSON body; anything else is a 400."""
    try:
        return decode_json(await request.read())
    except ValueError:
        raise _bad("The body must be JSON.") from None
