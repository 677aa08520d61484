"""The HTTP app's answers, in process (httpx over ASGI: no socket, no bot, no database)."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.http.app import SECRET_HEADER, Webhook, create_app
from adapters.intake import InvalidUpdate, JSONObject, NotAccepting
from adapters.metrics import REGISTRY

SECRET = "the-secret_123"
PATH = "/hook/abc"


class Intake:
    """Records the updates it takes; refuses as told."""

    def __init__(self) -> None:
        self.taken: list[JSONObject] = []
        self.refusal: Exception | None = None

    async def __call__(self, data: JSONObject) -> bool:
        if self.refusal is not None:
            raise self.refusal
        self.taken.append(data)
        return "ignored" not in data


async def ready() -> str | None:
    return None


@pytest.fixture
def intake() -> Intake:
    return Intake()


@pytest.fixture
async def client(intake: Intake) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ready, Webhook(PATH, SECRET, intake))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        yield http


def _webhook_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("nezuko_webhook_requests_total", {"outcome": outcome}) or 0.0


async def test_a_valid_update_is_handed_over_and_answered_200(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    before = _webhook_count("accepted")

    answer = await client.post(PATH, json={"update_id": 1}, headers={SECRET_HEADER: SECRET})

    assert (answer.status_code, answer.content) == (200, b"")
    assert intake.taken == [{"update_id": 1}]
    assert _webhook_count("accepted") == before + 1


async def test_an_update_the_intake_ignores_is_answered_200_and_counted_apart(
    client: httpx.AsyncClient,
) -> None:
    before = _webhook_count("accepted"), _webhook_count("ignored")

    update: dict[str, object] = {"update_id": 1, "ignored": {}}
    answer = await client.post(PATH, json=update, headers={SECRET_HEADER: SECRET})

    assert answer.status_code == 200
    assert (_webhook_count("accepted"), _webhook_count("ignored")) == (before[0], before[1] + 1)


@pytest.mark.parametrize(
    ("headers", "status", "outcome"),
    [({}, 401, "missing_secret"), ({SECRET_HEADER: "nope"}, 403, "wrong_secret")],
)
async def test_without_the_secret_nothing_is_handed_over(
    client: httpx.AsyncClient,
    intake: Intake,
    headers: dict[str, str],
    status: int,
    outcome: str,
) -> None:
    before = _webhook_count(outcome)

    answer = await client.post(PATH, json={"update_id": 1}, headers=headers)

    assert answer.status_code == status
    assert intake.taken == []
    assert _webhook_count(outcome) == before + 1


@pytest.mark.parametrize(
    ("refusal", "status"), [(InvalidUpdate("no"), 400), (NotAccepting(), 503)]
)
async def test_the_intakes_refusals_become_400_and_503(
    client: httpx.AsyncClient, intake: Intake, refusal: Exception, status: int
) -> None:
    intake.refusal = refusal

    answer = await client.post(PATH, json={"update_id": 1}, headers={SECRET_HEADER: SECRET})

    assert answer.status_code == status


async def test_only_post_is_allowed_on_the_webhook_and_only_get_on_probes(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get(PATH)).status_code == 405
    assert (await client.post("/health")).status_code == 405
    assert (await client.get("/nothing-here")).status_code == 404


async def test_a_failing_readiness_probe_is_503_not_500() -> None:
    async def broken() -> str | None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=create_app(broken))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        answer = await http.get("/ready")

    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "reason": "readiness check failed"}


async def test_without_a_webhook_no_post_route_exists() -> None:
    transport = httpx.ASGITransport(app=create_app(ready))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        answer = await http.post(PATH, json={}, headers={SECRET_HEADER: SECRET})
        metrics = await http.get("/metrics")

    assert answer.status_code == 404
    assert metrics.status_code == 200
    assert "nezuko_webhook_requests_total" in metrics.text


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "no-slash", "/{param}"])
def test_a_webhook_path_may_not_shadow_a_probe(path: str) -> None:
    async def take(_: dict[str, Any]) -> bool:
        return True

    with pytest.raises(ValueError, match="webhook path"):
        Webhook(path, SECRET, take)


def test_the_secret_never_shows_in_repr() -> None:
    async def take(_: dict[str, Any]) -> bool:
        return True

    assert SECRET not in repr(Webhook(PATH, SECRET, take))
