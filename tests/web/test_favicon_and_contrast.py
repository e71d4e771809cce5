"""The tab has an icon (no page asks for one in vain), and a link drawn as a button is a link's colour."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import login

CSS = Path(__file__).resolve().parents[2] / "webapp" / "static" / "css" / "app.css"


def test_favicon_is_served_to_everyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an icon file, not a page


def test_every_page_names_its_icon(client, make):
    for page in (client.get("/login"),):
        html = page.get_data(as_text=True)
        assert '<link rel="icon" href="/static/favicon.svg"' in html and '<link rel="icon" href="/favicon.ico"' in html
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    login(client, make.user("office").username)
    assert '<link rel="icon"' in client.get("/notifications").get_data(as_text=True)


def test_a_link_drawn_as_a_button_has_a_colour_of_its_own():
    rule = re.search(r"^button\.link \{([^}]*)\}", CSS.read_text(encoding="utf-8"), re.M)
    assert rule and "color: #1f5fa8" in rule.group(1)  # not the white of a filled button
