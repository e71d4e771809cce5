"""ZYZ_PROXY_ADDRESSES: the reverse proxy's forwarded headers (X-Forwarded-For/-Proto) and client-certificate headers
are believed only from a direct peer among the proxy's addresses; from any other peer the request keeps its own
address and scheme and presents no certificate. Unset, any peer is believed as before (ZYZ_PROXIES alone)."""

from __future__ import annotations

import json

import pytest
import time_machine
from sqlmodel import select

from conftest import PASSWORD, csrf_token
from webapp.config import ConfigError
from workflow.core.db import transaction
from workflow.core.models import AuditEvent

DN = "CN=王丽,OU=盂县工信局,O=阳泉市,C=CN"
GOOD = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": DN}
CLIENT = "203.0.113.9"  # the address the proxy forwards
PROXY = "10.0.0.5"




@pytest.fixture
def clerk(make, run_zyz):
    user = make.user("county", username="yx_clerk")
    assert run_zyz("users", "certificate", "yx_clerk", DN).exit_code == 0
    return user


def token(app, peer: str, headers: dict[str, str], password: str = PASSWORD):
    return app.test_client().post("/api/v1/auth/token", json={"username": "yx_clerk", "password": password},
                                  headers=headers, environ_base={"REMOTE_ADDR": peer})


def page_login(app, peer: str, headers: dict[str, str]):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    data = {"username": "yx_clerk", "password": PASSWORD, "csrf_token": csrf_token(client)}
    return client.post("/login", data=data, headers=headers)


def events(db, kind: str) -> list[AuditEvent]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def seen_as(app, db, peer: str) -> str:
    """The client address a failed login from `peer`, forwarding CLIENT, was recorded with."""
    assert token(app, peer, {"X-Forwarded-For": CLIENT}, password="Wrong-pass-1").status_code == 401
    return events(db, "login_failed")[-1].ip


def is_https(app, peer: str) -> bool:
    """Whether a request from `peer` saying X-Forwarded-Proto: https was taken as HTTPS (HSTS is sent then)."""
    answer = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": peer})
    return "Strict-Transport-Security" in answer.headers


def test_from_the_proxy_the_forwarded_address_and_scheme_are_the_clients(apps, db, make):
    make.user("county", username="yx_clerk")
    app = apps(PROXIES=1, PROXY_ADDRESSES=PROXY)
    assert seen_as(app, db, PROXY) == CLIENT
    assert is_https(app, PROXY)


def test_from_another_peer_the_forwarded_headers_are_ignored(apps, db, make):
    make.user("county", username="yx_clerk")
    app = apps(PROXIES=1, PROXY_ADDRESSES=PROXY)
    assert seen_as(app, db, "10.0.0.6") == "10.0.0.6"
    assert not is_https(app, "10.0.0.6")


def test_the_login_limit_counts_the_forwarded_client_from_the_proxy_and_the_peer_itself_otherwise(apps, db, make, now):
    make.user("county", username="yx_clerk")
    app = apps(PROXIES=1, PROXY_ADDRESSES=PROXY, LOGIN_RATE_LIMIT=2)
    with time_machine.travel(now, tick=False):
        # through the proxy each client counts on its own
        assert [token(app, PROXY, {"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)] == [200] * 3
        # a peer that made its X-Forwarded-For up is counted as itself
        assert [token(app, "10.0.0.6", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                for i in range(10, 13)] == [200, 200, 429]
    assert [e.ip for e in events(db, "login_rate_limited")] == ["10.0.0.6"]


def test_the_certificate_is_believed_from_the_proxy_only(apps, db, clerk):
    app = apps(PROXIES=1, PROXY_ADDRESSES=PROXY, CLIENT_CERT="required", LOGIN_RATE_LIMIT=0)
    forwarded = {**GOOD, "X-Forwarded-For": CLIENT}
    assert page_login(app, PROXY, forwarded).status_code == 302
    answer = token(app, PROXY, forwarded)
    assert answer.status_code == 200 and answer.json["token"]

    page = page_login(app, "10.0.0.6", forwarded)
    assert page.status_code == 401 and "请使用本人登记的数字证书（UKey）登录。" in page.get_data(as_text=True)
    answer = token(app, "10.0.0.6", forwarded)
    assert answer.status_code == 401 and answer.json["error"] == "certificate_required"
    refused = events(db, "login_failed")
    assert [(json.loads(e.data)["reason"], e.ip) for e in refused] == [("certificate", "10.0.0.6")] * 2
    assert [e.ip for e in events(db, "login_ok")] == [CLIENT, CLIENT]


@pytest.mark.parametrize("peer, trusted", [
    ("10.0.0.0", True), ("10.0.0.77", True), ("10.0.0.255", True), ("10.0.1.1", False), ("9.255.255.255", False),
    ("192.0.2.7", True), ("192.0.2.8", False),
])
def test_a_network_holds_every_address_in_it(apps, db, make, peer, trusted):
    make.user("county", username="yx_clerk")
    app = apps(PROXIES=1, PROXY_ADDRESSES=" 10.0.0.0/24 , 192.0.2.7")
    assert seen_as(app, db, peer) == (CLIENT if trusted else peer)


@pytest.mark.parametrize("peer, trusted", [
    ("fd00:1::8", True), ("fd00:1::ffff:1", True), ("fd00:2::8", False), ("::1", True), ("::2", False),
    ("127.0.0.1", False),  # ::1 is IPv6's loopback, not IPv4's
    ("::ffff:10.0.0.5", True),  # an IPv4 peer as a dual-stack socket reports it
    ("::ffff:10.0.0.6", False),
])
def test_ipv6_addresses_and_networks(apps, db, make, peer, trusted):
    make.user("county", username="yx_clerk")
    app = apps(PROXIES=1, PROXY_ADDRESSES="fd00:1::/64,::1,10.0.0.5")
    assert seen_as(app, db, peer) == (CLIENT if trusted else peer)


@pytest.mark.parametrize("addresses, message", [
    ("10.0.0.5, nginx.internal", "ZYZ_PROXY_ADDRESSES: 'nginx.internal' is not an IP address or network (such as "
                                 "10.0.0.5, 10.0.0.0/24 or fd00::5)"),
    ("10.0.0.256", "ZYZ_PROXY_ADDRESSES: '10.0.0.256' is not an IP address or network (such as 10.0.0.5, "
                   "10.0.0.0/24 or fd00::5)"),
    ("10.0.0.0/33", "ZYZ_PROXY_ADDRESSES: '10.0.0.0/33' is not an IP address or network (such as 10.0.0.5, "
                    "10.0.0.0/24 or fd00::5)"),
    ("10.0.0.5 10.0.0.6", "ZYZ_PROXY_ADDRESSES: '10.0.0.5 10.0.0.6' is not an IP address or network (such as "
                          "10.0.0.5, 10.0.0.0/24 or fd00::5)"),
    ("fd00::1::2", "ZYZ_PROXY_ADDRESSES: 'fd00::1::2' is not an IP address or network (such as 10.0.0.5, "
                   "10.0.0.0/24 or fd00::5)"),
    ("10.0.0.5/24", "ZYZ_PROXY_ADDRESSES: '10.0.0.5/24' has bits set after its prefix: write the network "
                    "10.0.0.0/24 or the address 10.0.0.5 alone"),
    ("fd00:1::8/64", "ZYZ_PROXY_ADDRESSES: 'fd00:1::8/64' has bits set after its prefix: write the network "
                     "fd00:1::/64 or the address fd00:1::8 alone"),
    (" , ", "ZYZ_PROXY_ADDRESSES names no address (' , '); leave it unset to believe any peer"),
])
def test_an_entry_that_is_no_address_or_network_stops_the_start(apps, addresses, message):
    with pytest.raises(ConfigError) as refused:
        apps(PROXIES=1, PROXY_ADDRESSES=addresses)
    assert str(refused.value) == message


def test_the_addresses_need_zyz_proxies(apps):
    with pytest.raises(ConfigError) as refused:
        apps(PROXIES=0, PROXY_ADDRESSES=PROXY)
    assert str(refused.value) == (
        "ZYZ_PROXY_ADDRESSES needs ZYZ_PROXIES (nginx in front: 1): the addresses say which peer is the reverse "
        "proxy, ZYZ_PROXIES how many proxies a request passed through; without it no forwarded header is believed "
        "at all")


def test_the_setting_is_read_from_the_environment(monkeypatch, apps, db, make):
    make.user("county", username="yx_clerk")
    monkeypatch.setenv("ZYZ_PROXIES", "1")
    monkeypatch.setenv("ZYZ_PROXY_ADDRESSES", "10.0.0.0/24")
    app = apps()
    assert seen_as(app, db, PROXY) == CLIENT
    assert seen_as(app, db, "10.0.1.5") == "10.0.1.5"


def test_unset_every_peer_is_believed_as_before(apps, db, clerk):
    app = apps(PROXIES=1, CLIENT_CERT="required", LOGIN_RATE_LIMIT=0)
    assert seen_as(app, db, "10.0.0.6") == CLIENT
    assert is_https(app, "10.0.0.6")
    answer = token(app, "10.0.0.6", {**GOOD, "X-Forwarded-For": CLIENT})
    assert answer.status_code == 200 and events(db, "login_ok")[-1].ip == CLIENT
    empty = apps(PROXIES=1, PROXY_ADDRESSES="", CLIENT_CERT="required", LOGIN_RATE_LIMIT=0)  # empty is unset
    assert seen_as(empty, db, "10.0.0.7") == CLIENT
    assert token(empty, "10.0.0.7", GOOD).status_code == 200
