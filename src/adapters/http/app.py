"""The Starlette app: liveness, readiness, Prometheus metrics and, in webhook mode, the webhook.

- `GET /health`: 200 while the process serves requests (liveness).
- `GET /ready`: 200 when the injected readiness probe finds nothing wrong, else 503 with its
  short reason (readiness: the database answers, the bot is started).
- `GET /metrics`: every metric of `adapters.metrics` in the Prometheus text format.
- `POST <webhook path>`: one Telegram update. The `X-Telegram-Bot-Api-Secret-Token` header must
  equal the secret (compared in constant time): missing → 401, wrong → 403, and the body is not
  even read. A body that is not a JSON object or not an update → 400 and one log line. An update
  is handed to the injected intake and answered 200 at once; 503 while the bot is not taking
  updates (starting or stopping), so Telegram delivers it again later and nothing is lost.

Only the webhook path needs to be reachable from Telegram (through the TLS-terminating proxy);
the probes and metrics are meant for the operator's network.
"""

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import cast

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.intake import InvalidUpdate, JSONObject, NotAccepting, TakeUpdate
from adapters.metrics import CONTENT_TYPE, WEBHOOK_REQUESTS, exposition

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20
"""The largest webhook body accepted (an update is a few kilobytes at most)."""
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})

type ReadinessProbe = Callable[[], Awaitable[str | None]]
"""Why the service is not ready, as a short reason that never contains a secret; None if it is."""


def _check_path(_: object, __: object, path: str) -> None:
    if not path.startswith("/") or path in PROBE_PATHS or "{" in path:
        raise ValueError(f"webhook path {path!r} must start with / and not be a probe path")


@attrs.frozen
class Webhook:
    """Where Telegram posts updates, the secret it must present, and who takes the updates.

    Attributes:
        path: The URL path of `WEBHOOK_URL` (not one of the probe paths).
        secret: `WEBHOOK_SECRET`, expected in the `X-Telegram-Bot-Api-Secret-Token` header.
        intake: Takes each valid update.
    """

    path: str = attrs.field(validator=_check_path)
    secret: str = attrs.field(repr=False)
    intake: TakeUpdate


def create_app(readiness: ReadinessProbe, webhook: Webhook | None = None) -> Starlette:
    """The app serving the probes, the metrics and, when given, the webhook.

    Args:
        readiness: Asked on every `GET /ready`.
        webhook: The webhook route; None in long-polling mode.
    """

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        try:
            reason = await readiness()
        except Exception:
            log.exception("http.ready.failed")
            reason = "readiness check failed"
        if reason is not None:
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(_: Request) -> Response:
        return Response(exposition(), media_type=CONTENT_TYPE)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if webhook is not None:
        routes.append(Route(webhook.path, WebhookEndpoint(webhook).receive, methods=["POST"]))
    return Starlette(routes=routes)


@attrs.frozen
class WebhookEndpoint:
    """`POST <webhook path>`: authenticate, parse, hand over, answer (see the module docstring)."""

    webhook: Webhook

    async def receive(self, request: Request) -> Response:
        """Answer one delivery."""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return _refuse(401, "missing_secret", "secret token missing")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            return _refuse(403, "wrong_secret", "secret token wrong")
        body = await _read_body(request, MAX_BODY_BYTES)
        if body is None:
            return _refuse(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
        try:
            data: object = json.loads(body)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or absurdly nested
            return _refuse(400, "malformed", "body is not JSON")
        if not isinstance(data, dict):
            return _refuse(400, "malformed", "body is not a JSON object")
        try:
            await self.webhook.intake(cast("JSONObject", data))
        except InvalidUpdate as error:
            return _refuse(400, "malformed", f"body is not an update: {error}")
        except NotAccepting:
            return _refuse(503, "not_accepting", "not taking updates now")
        WEBHOOK_REQUESTS.labels("accepted").inc()
        return Response(status_code=200)


def _refuse(status: int, outcome: str, reason: str) -> Response:
    WEBHOOK_REQUESTS.labels(outcome).inc()
    log.warning("webhook.rejected status=%s reason=%s", status, reason)
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it proves longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
