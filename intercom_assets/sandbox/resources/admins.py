"""Admins and teams: `GET /me`, `/admins`, `/admins/{id}`, `/teams`, and their churn."""

from typing import Any

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.endpoints import Call, dumps, flag, list_of
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import APP_ID, Factory
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.store import YEAR, Record, Store, numeric_id

APP_AGE = 6 * YEAR
"""The workspace was created this long before the generated workspace's clock."""


# -- generating -----------------------------------------------------------------------------------


def new_admin(f: Factory) -> Record:
    rng = f.rng
    admin_id = f.next_number("admin", 991_200_000)
    name = f"{f.pick(v.FIRST_NAMES)} {f.pick(v.LAST_NAMES)}"
    team_ids = sorted(
        int(t) for t in rng.sample(f.store.sorted_ids("teams"), min(2, len(f.store.teams)))
    )
    return {
        "type": "admin",
        "id": admin_id,
        "name": name,
        "email": f"admin{admin_id}@sandbox-company.test",
        "job_title": f.pick(["Support Engineer", "Account Manager", "Founder", "CSM", ""]),
        "away_mode_enabled": rng.random() < 0.1,
        "away_mode_reassign": rng.random() < 0.1,
        "away_status_reason_id": None,
        "has_inbox_seat": rng.random() < 0.9,
        "team_ids": team_ids,
        "avatar": {  # an admin who set no picture gets Intercom's default one
            "type": "avatar",
            "image_url": f"https://static.sandbox.test/avatars/{admin_id}.png"
            if rng.random() < 0.7
            else "https://static.sandbox.test/avatars/default.png",
        },
        "team_priority_level": {
            "primary_team_ids": team_ids[:1],
            "secondary_team_ids": team_ids[1:],
        },
    }


def new_team(f: Factory) -> Record:
    team_id = f.next_number("team", 8_100_000)
    return {
        "type": "team",
        "id": team_id,
        "name": f.pick(["Support", "Sales", "Billing", "Success", "Ops"]) + f" {team_id[-2:]}",
        "admin_ids": [],
        "admin_priority_level": {"primary_admin_ids": [], "secondary_admin_ids": []},
        "assignment_limit": f.pick([None, 10, 25]),
        "distribution_method": f.pick(["round_robin", "balanced", None]),
    }


def link_teams(store: Store) -> None:
    """Fill each team's `admin_ids` from the admins' `team_ids`."""
    for team in store.teams.values():
        members = [int(a["id"]) for a in store.admins.values() if int(team["id"]) in a["team_ids"]]
        team["admin_ids"] = members
        team["admin_priority_level"] = {
            "primary_admin_ids": members[:1],
            "secondary_admin_ids": members[1:],
        }


def me_record(store: Store, app_created: int) -> Record:
    """`GET /me`: the token's admin with its app (workspace id, region, time zone)."""
    admin = next(iter(store.admins.values()))
    return {
        "type": "admin",
        "id": admin["id"],
        "name": admin["name"],
        "email": admin["email"],
        "job_title": admin["job_title"],
        "away_mode_enabled": admin["away_mode_enabled"],
        "away_mode_reassign": admin["away_mode_reassign"],
        "has_inbox_seat": admin["has_inbox_seat"],
        "team_ids": admin["team_ids"],
        "avatar": admin["avatar"],
        "email_verified": True,
        "app": {
            "type": "app",
            "id_code": APP_ID,
            "name": "Sandbox Workspace",
            "region": store.region,
            "timezone": store.timezone,
            "created_at": app_created,
            "identity_verification": False,
        },
    }


# -- churn ----------------------------------------------------------------------------------------


def update_admin(c: Churning, at: int, admin_id: str) -> None:
    admin = c.store.admins.get(admin_id)
    if admin is None:
        return
    admin["away_mode_enabled"] = not admin["away_mode_enabled"]
    admin["job_title"] = c.pick(["Support Engineer", "Team Lead", "CSM", "Head of Support"])
    c.updated("admins", admin_id)


def create_admin(c: Churning, at: int, _: object) -> None:
    admin = new_admin(c.factory)
    c.store.admins[admin["id"]] = admin
    c.store.reordered("admins")
    for team_id in admin["team_ids"]:
        team = c.store.teams.get(str(team_id))
        if team is not None:
            team["admin_ids"].append(int(admin["id"]))
    c.log.add("admins_created", admin["id"])


def delete_admin(c: Churning, at: int, admin_id: str) -> None:
    if admin_id in c.store.admins and admin_id != c.store.me.get("id"):
        c.store.remove_admin(admin_id)
        c.log.add("admins_deleted", admin_id)


def update_team(c: Churning, at: int, team_id: str) -> None:
    team = c.store.teams.get(team_id)
    if team is None:
        return
    team["assignment_limit"] = c.pick([None, 5, 10, 25])
    c.updated("teams", team_id)


def delete_team(c: Churning, at: int, team_id: str) -> None:
    if team_id in c.store.teams and len(c.store.teams) > 1:
        c.store.remove_team(team_id)
        c.log.add("teams_deleted", team_id)


# -- endpoints ------------------------------------------------------------------------------------


def get_me(core: Any, call: Call) -> bytes:
    return dumps(core.store.me)


def list_admins(core: Any, call: Call) -> bytes:
    """`GET /admins`: like live Intercom, `avatar` only with `display_avatar=true`."""
    if flag(call.query, "display_avatar"):
        return list_of(core.store, "admins", {"type": "admin.list"}, "admins")
    store = core.store
    admins = [
        {k: v for k, v in store.admins[i].items() if k != "avatar"}
        for i in store.sorted_ids("admins")
    ]
    return dumps({"type": "admin.list", "admins": admins})


def get_admin(core: Any, call: Call) -> bytes:
    admin = core.store.admins.get(call.params["id"])
    if admin is None:
        raise ApiError(404, "admin_not_found", "Admin not found")
    return dumps(admin)


def list_teams(core: Any, call: Call) -> bytes:
    return list_of(core.store, "teams", {"type": "team.list"}, "teams")


class Admins(Resource):
    """The workspace's admins (the token's own is `GET /me`) and teams."""

    tables = {"admins": True, "teams": True}
    change_kinds = (
        "admins_created", "admins_updated", "admins_deleted", "teams_updated", "teams_deleted",
    )  # fmt: skip
    routes = (
        ("GET", "/me", get_me),
        ("GET", "/admins", list_admins),
        ("GET", "/admins/{id}", get_admin),
        ("GET", "/teams", list_teams),
    )

    def generate(self, g: Generation) -> None:
        store = g.store
        for _ in range(g.preset.teams):
            team = new_team(g.factory)
            store.teams[team["id"]] = team
        for _ in range(g.preset.admins):
            admin = new_admin(g.factory)
            store.admins[admin["id"]] = admin
        store.reordered("teams")
        store.reordered("admins")
        link_teams(store)
        store.me = me_record(store, g.start - APP_AGE)

    def plan_churn(self, c: Churning) -> None:
        churn, store = c.churn, c.store
        admins = [a for a in store.sorted_ids("admins") if a != store.me.get("id")]
        c.plan(churn.admin_update, admins, update_admin)
        c.plan(churn.admin_create, admins, create_admin, size=len(store.admins))
        c.plan(churn.admin_delete, admins, delete_admin)
        teams = list(store.sorted_ids("teams"))
        c.plan(churn.team_update, teams, update_team)
        c.plan(churn.team_delete, teams, delete_team)

    def truth(self, store: Store) -> dict[str, Any]:
        return {
            "admins": [store.admins[i] for i in store.sorted_ids("admins")],
            "teams": [store.teams[i] for i in store.sorted_ids("teams")],
            "deleted_admin_ids": sorted(store.deleted_admin_ids, key=numeric_id),
            "deleted_team_ids": sorted(store.deleted_team_ids, key=numeric_id),
        }
