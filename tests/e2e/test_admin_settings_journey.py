"""An admin's journey through the settings area in a real browser (issue 15, "A settings area
for admins, in the app"): from the navigation, add a custom field with options, add a second
pipeline with stages and reorder them by dragging, invite a user into a team as a rep; no
console error and no CSP refusal on the way."""

from pathlib import Path

import pytest

from crm.models import CustomField, Pipeline, Role, User
from tests.services import csp_violations

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOTS = Path("var/screenshots")


def stage_names(page) -> list[str]:
    return page.get_by_test_id("stage-name").all_inner_texts()


def test_an_admin_sets_up_fields_a_pipeline_and_a_user_from_the_settings_pages(
    page_as, admin_user, sales_team, eager_tasks, mailoutbox
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = page_as(admin_user)
    refused = csp_violations(page)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/")
    page.locator("nav a.nav-link", has_text="Settings").click()
    page.get_by_test_id("settings-menu").wait_for()
    page.screenshot(path=str(SHOTS / "settings_index.png"), full_page=True)

    # A custom field with options, one per line.
    page.get_by_test_id("settings-menu").get_by_text("Custom fields").click()
    page.get_by_test_id("field-new").click()
    form = page.get_by_test_id("field-form")
    form.locator("[name=record_type]").select_option("deal")
    form.locator("[name=label]").fill("Region")
    form.locator("[name=key]").fill("region")
    form.locator("[name=field_type]").select_option("select")
    form.locator("[name=choices]").fill("North\nSouth\nEast")
    form.locator("[name=required]").check()
    page.screenshot(path=str(SHOTS / "settings_custom_field.png"), full_page=True)
    form.get_by_role("button", name="Save").click()
    page.get_by_test_id("fields-deal").get_by_role("link", name="Region").wait_for()
    field = CustomField.objects.get(record_type="deal", key="region")
    assert (field.choices, field.required) == (["North", "South", "East"], True)

    # A second pipeline, its stages, reordered by dragging.
    page.get_by_test_id("settings-menu").get_by_text("Pipelines and stages").click()
    page.get_by_test_id("pipeline-create").locator("[name=name]").fill("Partners")
    page.get_by_test_id("pipeline-create").get_by_role("button", name="Add pipeline").click()
    for name, probability in (("Discovery", "10"), ("Proposal", "40")):
        adder = page.get_by_test_id("stage-create")
        adder.locator("[name=name]").fill(name)
        adder.locator("[name=probability]").fill(probability)
        adder.get_by_role("button", name="Add stage").click()
        page.get_by_test_id("stage-name").get_by_text(name, exact=True).wait_for()
    assert stage_names(page) == ["Discovery", "Proposal", "Won", "Lost"]

    rows = page.get_by_test_id("stage-row")
    with page.expect_response(lambda r: "/stages/reorder/" in r.url) as reordered:
        rows.nth(1).locator(".drag-handle").drag_to(rows.nth(0).locator(".drag-handle"))
    assert reordered.value.status == 204
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stage-name]').textContent === 'Proposal'"
    )
    assert stage_names(page) == ["Proposal", "Discovery", "Won", "Lost"]
    pipeline = Pipeline.objects.get(name="Partners")
    assert [s.name for s in pipeline.stages.order_by("order")] == stage_names(page)
    page.screenshot(path=str(SHOTS / "settings_pipeline_stages.png"), full_page=True)

    # A new rep in the Sales team, invited by email.
    page.get_by_test_id("settings-menu").get_by_text("Users").click()
    page.get_by_test_id("user-invite").click()
    invite = page.get_by_test_id("invite-form")
    invite.locator("[name=username]").fill("nina")
    invite.locator("[name=first_name]").fill("Nina")
    invite.locator("[name=last_name]").fill("Ruiz")
    invite.locator("[name=email]").fill("nina@example.com")
    invite.locator("[name=role]").select_option(Role.SALES_REP)
    invite.get_by_label("Sales", exact=True).check()
    page.screenshot(path=str(SHOTS / "settings_invite.png"), full_page=True)
    invite.get_by_role("button", name="Invite").click()
    page.get_by_test_id("users").get_by_text("Nina Ruiz").wait_for()
    page.screenshot(path=str(SHOTS / "settings_users.png"), full_page=True)

    nina = User.objects.get(username="nina")
    assert (nina.role_names, list(nina.teams.all())) == ([Role.SALES_REP], [sales_team])
    assert [message.to for message in mailoutbox] == [["nina@example.com"]]
    assert errors == [] and refused == []
