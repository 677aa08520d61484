"""Serving an ASGI app with uvicorn inside the bot's own event loop."""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncGenerator, Generator

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

GRACEFUL_SECONDS = 5
"""How long a stopping server waits for requests in flight before cancelling them."""


class CannotListen(OSError):
    """The HTTP server could not bind its address (in use, not local, or unresolvable)."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        # `nezuko run` owns the signals and stops everything in order; uvicorn's own handlers
        # would replace it and re-raise the signal after shutting down.
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to `host:port` (port 0: a free one).

    Raises:
        CannotListen: The address is in use or not local, or the host does not resolve.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise CannotListen(f"cannot listen on {host}:{port}: {error}") from error
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {error.strerror}") from error
    return sock


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, host: str, port: int) -> AsyncGenerator[int]:
    """Serve `app` on `host:port` for as long as the block runs; yields the port bound.

    On leaving: stop accepting connections, let requests in flight finish (at most
    `GRACEFUL_SECONDS`), close the socket.

    Raises:
        CannotListen: The address could not be bound (before anything is served).
    """
    sock = bind(host, port)
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        lifespan="off",
        http="h11",
        ws="none",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="http-server")  # noqa: TID251
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the start-up
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        log.info("http.listening", extra={"host": host, "port": bound})
        yield bound
    finally:
        server.should_exit = True
        await task
        sock.close()
