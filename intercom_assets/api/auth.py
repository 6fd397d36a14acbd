"""The access token: a string that never shows, and the bearer auth that sends it."""

from collections.abc import Generator

import httpx


class Secret:
    """A string that never shows in a repr or str (read it with `reveal()`)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` on every request; the token never shows in a repr."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"
