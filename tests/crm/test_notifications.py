"""In-app notifications: the bell, the list, mark read, the email opt-in, once per key."""

import pytest
from django.core import mail
from django.urls import reverse

from crm import services
from crm.models import Notification

pytestmark = pytest.mark.django_db


def test_notify_creates_one_row_per_recipient_and_the_bell_counts_them(client, rep, teammate):
    services.notify(recipients=[rep, teammate, rep], title="Goal at 50 %", url="/goals/")
    assert Notification.objects.filter(recipient=rep).count() == 1
    client.force_login(rep)
    bell = client.get(reverse("notifications-bell"))
    assert bell.status_code == 200
    assert 'data-testid="bell-count">1<' in bell.content.decode()
    assert "Goal at 50 %" in bell.content.decode()


def test_a_keyed_notification_fires_once_per_recipient(rep):
    first = services.notify(recipients=[rep], title="90 %", key="goal:1:90")
    again = services.notify(recipients=[rep], title="90 % again", key="goal:1:90")
    assert len(first) == 1 and again == []
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_opening_marks_read_and_follows_only_a_local_link(client, rep):
    local, hostile = (
        services.notify(recipients=[rep], title="Local", url="/tasks/")[0],
        services.notify(recipients=[rep], title="Hostile", url="https://evil.example/x")[0],
    )
    client.force_login(rep)
    response = client.post(reverse("notification-open", args=[local.pk]))
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    response = client.post(reverse("notification-open", args=[hostile.pk]))
    assert response["Location"] == reverse("notifications")
    assert Notification.objects.filter(recipient=rep, read_at__isnull=True).count() == 0


def test_nobody_reads_or_marks_another_users_notification(client, rep, teammate):
    theirs = services.notify(recipients=[teammate], title="Private")[0]
    client.force_login(rep)
    assert client.post(reverse("notification-open", args=[theirs.pk])).status_code == 404
    assert "Private" not in client.get(reverse("notifications")).content.decode()
    client.post(reverse("notifications-read-all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_empties_the_bell(client, rep):
    services.notify(recipients=[rep], title="One")
    services.notify(recipients=[rep], title="Two")
    client.force_login(rep)
    client.post(reverse("notifications-read-all"))
    assert "bell-count" not in client.get(reverse("notifications-bell")).content.decode()
    page = client.get(reverse("notifications"))
    assert page.status_code == 200 and "One" in page.content.decode()


def test_email_only_after_opting_in_and_only_once(
    client, rep, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[rep], title="Silent")
    assert mail.outbox == []

    client.force_login(rep)
    client.post(reverse("notifications-email"), {"enabled": "1"})
    rep.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.notify(recipients=[rep], title="Loud", url="/goals/")[0]
    assert len(mail.outbox) == 1
    assert "Loud" in mail.outbox[0].subject and "/goals/" in mail.outbox[0].body

    from crm.services.notifications import notification_email

    assert notification_email(notification_id=sent.pk) is False  # a second delivery sends nothing
    assert len(mail.outbox) == 1

    client.post(reverse("notifications-email"), {"enabled": "0"})
    rep.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[rep], title="Quiet again")
    assert len(mail.outbox) == 1


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("notifications-bell"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
