"""A synchronous httpx transport that serves the sandbox in-process (thread-safe)."""

import time

import httpx

from intercom_assets.sandbox.core import SandboxCore


class SandboxTransport(httpx.BaseTransport):
    """Hands each request to the sandbox core; no sockets, no event loop."""

    def __init__(self, core: SandboxCore) -> None:
        self.core = core

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        body = request.read()
        base_url = f"{url.scheme}://{url.netloc.decode('ascii')}"
        reply = self.core.handle(
            request.method, url.path, url.query.decode("latin-1"), headers, body, base_url
        )
        if reply.delay > 0:
            time.sleep(reply.delay)
        if reply.reset:
            raise httpx.ReadError(
                "connection reset by the sandbox (injected fault)", request=request
            )
        return httpx.Response(
            reply.status, headers=reply.headers, content=reply.body, request=request
        )
