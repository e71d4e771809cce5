"""The problem ledger's people: two counties with a town each, the office, the leader, the member unit that logs
problems (市科技局) and one made responsible for them (市发改委), each with a login."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conftest import api_headers


@dataclass
class People:
    users: dict
    towns: dict
    units: dict


@pytest.fixture
def people(make):
    towns = {"西烟镇": make.town("西烟镇", county="盂县"), "娘子关镇": make.town("娘子关镇", county="平定县")}
    users = {"yx": make.user("county", county="盂县", username="yx_clerk"),
             "pd": make.user("county", county="平定县", username="pd_clerk"),
             "office": make.user("office", username="office_staff"),
             "leader": make.user("leader", username="leader_one"),
             "kj": make.user("member", unit="市科技局", username="kj_staff"),
             "fgw": make.user("member", unit="市发改委", username="fgw_staff"),
             "ny": make.user("member", unit="市农业农村局", username="ny_staff")}
    units = {name: make.unit(name, kind).id for name, kind in (("盂县", "county"), ("平定县", "county"),
                                                                ("市科技局", "member"), ("市发改委", "member"),
                                                                ("市农业农村局", "member"))}
    return People(users, towns, units)


@pytest.fixture
def api(client, people):
    """Bearer headers per person of `people`, made on first use (`fresh`: a new token, after the clock moved)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(who: str, fresh: bool = False) -> dict[str, str]:
        if fresh or who not in cache:
            cache[who] = api_headers(client, people.users[who].username)
        return cache[who]

    return headers
