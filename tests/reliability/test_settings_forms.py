"""Every form of the admins' settings area (/settings/), posted by an admin with hostile values
in every field, one kind at a time (the harness of test_hostile_forms.py): each post is a clean
rejection with nothing written or a save whose page still opens, never a server error."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Role
from tests.crm.factories import CustomFieldFactory, default_pipeline
from tests.factories import TeamFactory, UserFactory
from tests.reliability.test_hostile_forms import KINDS, FormRoute, Poster, form_errors, values_for
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db
# A public address (no DNS lookup needed): the webhook forms refuse internal ones.
WEBHOOK_URL = "https://93.184.215.14/hook"


def routes(admin, person, team, field) -> list[FormRoute]:
    pipeline = default_pipeline()
    stage = pipeline.stages.order_by("order").first()
    pipeline_page = reverse("settings-pipeline", args=[pipeline.pk])
    stage_create = reverse("settings-pipeline-stage-create", args=[pipeline.pk])
    webhook = webhook_services.subscription_create(
        actor=admin, data={"url": WEBHOOK_URL, "event_types": ["*"]}
    )
    return [
        FormRoute(
            "settings-pipelines", "admin", reverse("settings-pipelines"), valid={"name": "P"}
        ),
        FormRoute("settings-pipeline", "admin", pipeline_page),
        FormRoute(
            "settings-pipeline-stage-create",
            "admin",
            pipeline_page,
            post=stage_create,
            action=stage_create,
            form_key="stage_form",
            valid={"name": "Demo", "probability": "30"},
        ),
        FormRoute("settings-stage", "admin", reverse("settings-stage", args=[stage.pk])),
        FormRoute(
            "settings-field-create",
            "admin",
            reverse("settings-field-create"),
            valid={
                "record_type": "deal",
                "key": "walk",
                "label": "Walk",
                "field_type": "select",
                "choices": "A\nB",
            },
        ),
        FormRoute("settings-field", "admin", reverse("settings-field", args=[field.pk])),
        FormRoute(
            "settings-user-invite",
            "admin",
            reverse("settings-user-invite"),
            valid={"username": "nina", "email": "nina@example.com"},
        ),
        FormRoute("settings-user", "admin", reverse("settings-user", args=[person.pk])),
        FormRoute("settings-teams", "admin", reverse("settings-teams"), valid={"name": "Walkers"}),
        FormRoute("settings-team", "admin", reverse("settings-team", args=[team.pk])),
        FormRoute("settings-sla", "admin", reverse("settings-sla")),
        FormRoute("settings-support", "admin", reverse("settings-support")),
        FormRoute("settings-kpi-band", "admin", reverse("settings-kpi-band", args=["win_rate"])),
        FormRoute("settings-health", "admin", reverse("settings-health")),
        FormRoute(
            "settings-webhooks",
            "admin",
            reverse("settings-webhooks"),
            valid={"url": WEBHOOK_URL, "event_types": "deal.*"},
        ),
        FormRoute("settings-webhook", "admin", reverse("settings-webhook", args=[webhook.pk])),
    ]


ROUTE_NAMES = [
    "settings-pipelines",
    "settings-pipeline",
    "settings-pipeline-stage-create",
    "settings-stage",
    "settings-field-create",
    "settings-field",
    "settings-user-invite",
    "settings-user",
    "settings-teams",
    "settings-team",
    "settings-sla",
    "settings-support",
    "settings-kpi-band",
    "settings-health",
    "settings-webhooks",
    "settings-webhook",
]


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_hostile_values_in_every_settings_field_are_refused_cleanly(admin_user, figures, name):
    person = UserFactory(username="ana", role=Role.SALES_REP)
    team = TeamFactory(name="Sales", manager=admin_user, members=[person])
    field = CustomFieldFactory(
        record_type="deal", key="tier", label="Tier", field_type="select", choices=["A", "B"]
    )
    route = next(r for r in routes(admin_user, person, team, field) if r.name == name)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    poster = Poster(client, route, figures)
    base, fields = poster.base()

    # The form as an admin fills it in is accepted: each hostile value is then alone at fault.
    response = client.post(route.url(), base)
    assert response.status_code in (200, 302) and not form_errors(response, route.form_key), (
        name,
        response.status_code,
        response.context and response.context[route.form_key].errors,
    )

    poster.send({key: ["\x00"] for key in base}, "NUL in every field")
    for round_ in range(max(len(values) for values in KINDS)):
        hostile = {
            field_name: values_for(field_name, form_field)[
                round_ % len(values_for(field_name, form_field))
            ]
            for field_name, form_field in fields.items()
            if field_name != "next"
        }
        poster.probe(base, hostile)
    # The settings pages still open after whatever was saved.
    page = client.get(route.page)
    if page.status_code >= 500:
        figures.add("server_errors", f"{name}: {route.page} → {page.status_code}")
