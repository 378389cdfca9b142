"""Files a browser asks for at the site's root (issue 15, item 18): /favicon.ico answered on
every page instead of a 404, and the pages name their icon."""

import pytest
from django.contrib.staticfiles import finders


def test_favicon_ico_is_served_to_anyone_without_a_login(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.django_db
def test_pages_link_their_icon(client, rep):
    client.force_login(rep)

    page = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    assert finders.find("img/favicon.svg")
