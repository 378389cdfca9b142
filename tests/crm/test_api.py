import base64

import pytest


@pytest.mark.django_db
def test_api_refuses_anonymous_callers(client):
    response = client.get("/api/me/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_api_does_not_accept_basic_auth(client, rep):
    credentials = base64.b64encode(b"ana:secret-pass-123").decode()
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 403


@pytest.mark.django_db
def test_api_answers_a_logged_in_user(client, rep):
    client.force_login(rep)
    response = client.get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "ana"
    assert response.json()["roles"] == ["Sales rep"]


@pytest.mark.django_db
def test_api_schema_is_served_to_users(client, rep):
    client.force_login(rep)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/me/" in response.content
