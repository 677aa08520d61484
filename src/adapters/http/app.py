"""The Starlette app: liveness, readiness, Prometheus metrics and, in webhook mode, the webhook.

- `GET /health`: 200 while the process serves requests (liveness).
- `GET /ready`: 200 when the injected readiness probe finds nothing wrong, else 503 with its
  short reason (readiness: the database answers, the bot is started).
- `GET /metrics`: every metric of `adapters.metrics` in the Prometheus text format.
- `POST <webhook path>`: one Telegram update. The `X-Telegram-Bot-Api-Secret-Token` header must
  equal the secret (compared in constant time): missing → 401, wrong → 403, and the body is not
  even read. A body that is not a JSON object → 400 (`malformed`); one the intake finds not a
  structurally valid update → 400 (`invalid`). An update is handed to the injected intake and
  answered 200 at once (`accepted`, or `ignored` for a kind the bot does not ask for); 503 while
  the bot is not taking updates (starting or stopping), so Telegram delivers it again later and
  nothing is lost.

Every request counts in `nezuko_webhook_requests_total{outcome}`. Refusals are logged at most
once per outcome every `REJECTION_LOG_INTERVAL` seconds, the line saying how many were not
logged since the last one: whoever can reach the endpoint can send refusals as fast as they
like, and the log must not grow with them.

Only the webhook path needs to be reachable from Telegram (through the TLS-terminating proxy);
the probes and metrics are meant for the operator's network.
"""

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.intake import InvalidUpdate, JSONObject, NotAccepting, TakeUpdate
from adapters.metrics import CONTENT_TYPE, WEBHOOK_REQUESTS, DirectoryGauges, exposition

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20
"""The largest webhook body accepted (an update is a few kilobytes at most)."""
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})
REJECTION_LOG_INTERVAL = 10.0
"""Seconds between two log lines about refused webhook requests of one outcome."""

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


def create_app(
    readiness: ReadinessProbe,
    webhook: Webhook | None = None,
    gauges: DirectoryGauges | None = None,
) -> Starlette:
    """The app serving the probes, the metrics and, when given, the webhook.

    Args:
        readiness: Asked on every `GET /ready`.
        webhook: The webhook route; None in long-polling mode.
        gauges: Refreshed (at most every few seconds) before each `GET /metrics`.
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
        if gauges is not None:
            await gauges.refresh()
        return Response(exposition(), media_type=CONTENT_TYPE)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if webhook is not None:
        routes.append(Route(webhook.path, WebhookEndpoint(webhook).receive, methods=["POST"]))
    return Starlette(routes=routes)


@attrs.define
class ThrottledLog:
    """Says whether to log one more event of a kind: at most once per `interval` per kind.

    Attributes:
        interval: Seconds between two lines of one kind.
        timer: Monotonic seconds.
    """

    interval: float
    timer: Callable[[], float] = time.monotonic
    _last: dict[str, float] = attrs.field(init=False, factory=dict[str, float])
    _suppressed: dict[str, int] = attrs.field(init=False, factory=dict[str, int])

    def admit(self, kind: str) -> int | None:
        """None to stay silent; else log, with this many events of the kind left unlogged."""
        now = self.timer()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._suppressed.pop(kind, 0)


@attrs.frozen
class WebhookEndpoint:
    """`POST <webhook path>`: authenticate, parse, hand over, answer (see the module docstring).

    Attributes:
        webhook: The path, secret and intake.
        rejections: Which refusals get a log line.
    """

    webhook: Webhook
    rejections: ThrottledLog = attrs.field(factory=lambda: ThrottledLog(REJECTION_LOG_INTERVAL))

    async def receive(self, request: Request) -> Response:
        """Answer one delivery."""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return self._refuse(401, "missing_secret", "secret token missing")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            return self._refuse(403, "wrong_secret", "secret token wrong")
        body = await _read_body(request, MAX_BODY_BYTES)
        if body is None:
            return self._refuse(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
        try:
            data: object = json.loads(body)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or absurdly nested
            return self._refuse(400, "malformed", "body is not JSON")
        if not isinstance(data, dict):
            return self._refuse(400, "malformed", "body is not a JSON object")
        try:
            taken = await self.webhook.intake(cast("JSONObject", data))
        except InvalidUpdate as error:
            return self._refuse(400, "invalid", f"body is not an update: {error}")
        except NotAccepting:
            return self._refuse(503, "not_accepting", "not taking updates now")
        WEBHOOK_REQUESTS.labels("accepted" if taken else "ignored").inc()
        return Response(status_code=200)

    def _refuse(self, status: int, outcome: str, reason: str) -> Response:
        WEBHOOK_REQUESTS.labels(outcome).inc()
        suppressed = self.rejections.admit(outcome)
        if suppressed is not None:
            log.warning(
                "webhook.rejected status=%s outcome=%s reason=%s suppressed=%s",
                status,
                outcome,
                reason,
                suppressed,
            )
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
