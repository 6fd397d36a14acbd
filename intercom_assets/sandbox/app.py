"""The Starlette app (a thin catch-all adapter over the gateway), and uvicorn in a thread."""

import asyncio
import contextvars
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from intercom_assets.sandbox.gateway import Gateway, Request

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]

# The asyncio transport of the connection serving the current request, so that an injected
# connection reset can close it without sending a response.
current_transport: contextvars.ContextVar[Any] = contextvars.ContextVar("sandbox_transport")


class ResettableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, exposing the connection's transport to the app."""

    def data_received(self, data: bytes) -> None:
        current_transport.set(self.transport)
        super().data_received(data)


def build_app(gateway: Gateway) -> Starlette:
    """A Starlette app that hands every request to `gateway.handle`."""

    async def endpoint(request: StarletteRequest) -> Response:
        received = Request(
            method=request.method,
            path=request.url.path,
            query_string=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )
        reply = await asyncio.to_thread(gateway.handle, received)
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.reset:
            transport = current_transport.get(None)
            if transport is not None:
                transport.abort()
                await _wait_for_disconnect(request)
            return Response(b"", status_code=500)
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=METHODS)])


async def _wait_for_disconnect(request: StarletteRequest) -> None:
    try:
        await asyncio.wait_for(request.receive(), timeout=1.0)
    except Exception:  # the connection is gone either way
        return


@contextmanager
def serve(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` with uvicorn in a daemon thread; yield its base URL; shut down on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=ResettableH11Protocol,
        log_level="warning",
        lifespan="off",
        date_header=False,  # the gateway sends the sandbox clock's Date
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            thread.join(0.01)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
