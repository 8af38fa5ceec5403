"""The README's Starlette webhook example, verbatim below this docstring.

``test_webhook_core`` runs it under Starlette's TestClient (skipped when
starlette is not installed); keep the two in step.
"""

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from komet_async.kounta import CustomerEvent
from komet_async.kounta.webhooks import receive_delivery

SECRET = os.environ["KOUNTA_WEBHOOK_SECRET"]


async def on_event(event: CustomerEvent) -> None:
    """Store the change; raise to answer 500 and have Kounta deliver again."""
    print(event.topic, event.customer.id)


async def kounta_webhook(request: Request) -> Response:
    reply = await receive_delivery(
        request.headers, request.stream(), SECRET, on_event, query=request.query_params
    )
    return Response(reply.text, reply.status, headers=reply.headers, media_type=reply.content_type)


app = Starlette(routes=[Route("/kounta/webhooks", kounta_webhook, methods=["POST"])])
