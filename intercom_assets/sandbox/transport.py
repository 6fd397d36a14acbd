"""A synchronous httpx transport that serves the sandbox in-process (thread-safe)."""

import time

import httpx

from intercom_assets.sandbox.gateway import Gateway, Request


class SandboxTransport(httpx.BaseTransport):
    """Hands each request to the sandbox's gateway; no sockets, no event loop."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        reply = self.gateway.handle(
            Request(
                method=request.method,
                path=url.path,
                query_string=url.query.decode("latin-1"),
                headers=headers,
                body=request.read(),
                base_url=f"{url.scheme}://{url.netloc.decode('ascii')}",
            )
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
