"""The app's permissions: a route whose permission is withheld is refused, everything else
(and `GET /me`) answers as usual."""

import pytest

from intercom_assets.sandbox import ALL_PERMISSIONS, Sandbox

SEARCH = {"query": {"field": "updated_at", "operator": ">", "value": 0}}


def test_a_withheld_permission_refuses_its_routes_with_403_forbidden() -> None:
    sb = Sandbox(permissions=ALL_PERMISSIONS - {"Read tickets"})
    with sb.client() as client:
        assert client.get("/me").status_code == 200
        assert client.get("/contacts").status_code == 200
        assert client.post("/conversations/search", json=SEARCH).status_code == 200
        for method, path in [("POST", "/tickets/search"), ("GET", "/ticket_types")]:
            response = client.request(method, path, json=SEARCH if method == "POST" else None)
            assert response.status_code == 403
            body = response.json()
            assert body["type"] == "error.list" and body["request_id"]
            assert body["errors"] == [
                {
                    "code": "forbidden",
                    "message": "You do not have the required scope (Read tickets) to access"
                    " this resource",
                }
            ]
            assert response.headers["X-RateLimit-Limit"]  # an authenticated answer


def test_no_permission_at_all_leaves_me_and_401_when_asked() -> None:
    sb = Sandbox(permissions=[], permission_status=401)
    with sb.client() as client:
        assert client.get("/me").status_code == 200
        for path in ["/tags", "/admins", "/admins/activity_logs", "/articles", "/events"]:
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.json()["errors"][0]["code"] == "unauthorized"


def test_unknown_permissions_and_statuses_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown permissions \\['Read everything'\\]"):
        Sandbox(permissions=["Read everything"])
    with pytest.raises(ValueError, match="permission_status must be 403 or 401"):
        Sandbox(permission_status=404)
