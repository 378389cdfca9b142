import re

import pytest
from django.core import mail
from django.urls import reverse

from crm.models import LoginEvent


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in to the CRM" in response.content


@pytest.mark.django_db
def test_a_successful_login_is_recorded_and_lands_on_home(client, rep):
    response = client.post(reverse("login"), {"username": "ana", "password": "secret-pass-123"})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert list(LoginEvent.objects.values_list("user__username", flat=True)) == ["ana"]


@pytest.mark.django_db
def test_a_failed_login_shows_a_message_and_records_nothing(client, rep):
    response = client.post(reverse("login"), {"username": "ana", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b'value="ana"' in response.content
    assert LoginEvent.objects.count() == 0


@pytest.mark.django_db
def test_admin_login_goes_through_the_recorded_login_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/admin/"


@pytest.mark.django_db
def test_logged_in_user_sees_navigation_name_and_role(client, rep):
    client.force_login(rep)
    response = client.get(reverse("home"))

    content = response.content.decode()
    for label in [
        "Leads",
        "Contacts",
        "Companies",
        "Deals",
        "Tasks",
        "Tickets",
        "Dashboards",
        "Goals",
        "Automations",
    ]:
        assert f">{label}</a>" in content
    assert str(rep) in content
    assert "Sales rep" in content
    assert ">Admin</a>" not in content


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["rep", "agent", "manager"])
def test_the_admin_refuses_a_logged_in_user_who_is_not_staff_instead_of_looping(
    client, request, persona
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2


@pytest.mark.django_db
def test_admin_sees_the_admin_link(client, admin_user):
    client.force_login(admin_user)
    assert b">Admin</a>" in client.get(reverse("home")).content


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["rep", "agent", "manager", "admin_user"])
def test_every_menu_entry_opens_for_every_role(client, request, persona):
    """No dead link and no "not built yet" page in anybody's menu."""
    client.force_login(request.getfixturevalue(persona))
    home = client.get(reverse("home")).content.decode()
    menu = home[home.index('id="main-nav"') : home.index('role="search"')]
    links = set(re.findall(r'class="nav-link[^"]*"[^>]*href="(/[^"]*)"', menu))
    assert {reverse("goals"), reverse("dashboards")} <= links
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert b"not built yet" not in response.content, link


@pytest.mark.django_db
def test_logout_needs_post_and_ends_the_session(client, rep):
    client.force_login(rep)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_password_reset_sends_an_email_with_a_working_link(client, rep):
    response = client.post(reverse("password_reset"), {"email": rep.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    confirm = client.get(path, follow=True)
    assert b"Choose a new password" in confirm.content
    assert b"new_password1" in confirm.content
