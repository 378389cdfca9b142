"""Each role's day (../shared/JOURNEYS.md, issue 14) clicked through in Chromium from the login
form, with screenshots at the main steps under var/screenshots/<journey>/ and no console error
or CSP refusal allowed. The rep's journey also runs whole in Brazilian Portuguese, so the
journeys find elements by role, name, URL, data attributes and ids, never by English words."""

import csv
import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from playwright.sync_api import expect

from automations.models import Rule
from crm import services
from crm.models import (
    ActivityKind,
    ArticleStatus,
    CustomField,
    DealStatus,
    FieldType,
    LeadStatus,
    Pipeline,
    RecordType,
    SurveyAnswer,
    SurveyKind,
    Task,
    TicketStatus,
)
from goals.models import Goal
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    default_pipeline,
    stage_named,
)
from tests.e2e.conftest import PHONE
from tests.factories import TeamFactory

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE_NUMBER = "+55 11 98765-4321"
LINK = re.compile(r"https?://\S+")


def assert_fits(page):
    """The page itself does not scroll sideways."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def column(page, stage):
    return page.locator(f'.board-column[data-stage-id="{stage.pk}"]')


def drag(page, deal, stage):
    card = page.locator(f'.deal-card[data-deal-id="{deal.pk}"]')
    card.drag_to(page.locator(f'.board-cards[data-stage-id="{stage.pk}"]'))


@pytest.fixture
def rep_day(rep, sales_team):
    """A web-form lead whose company is already a customer, three open deals, a custom field
    on deals and a contact known by phone."""
    company = CompanyFactory(
        name="Acme Brasil", domain="acme-brasil.example", owner=rep, team=sales_team
    )
    lead = LeadFactory(
        name="Joana Lima",
        email="joana@acme-brasil.example",
        company_name="Acme Brasil",
        owner=rep,
        team=sales_team,
    )
    deals = [
        DealFactory(name=f"Renewal {n}", owner=rep, team=sales_team, amount=1000 * (n + 1))
        for n in range(3)
    ]
    CustomFieldFactory(
        record_type=RecordType.DEAL,
        key="product_interest",
        label="Product interest",
        field_type=FieldType.SELECT,
        choices=["Analytics", "Support desk"],
    )
    contact = ContactFactory(
        first_name="Rui", last_name="Campos", phone=PHONE_NUMBER, owner=rep, team=sales_team
    )
    return {"company": company, "lead": lead, "deals": deals, "contact": contact}


@pytest.mark.parametrize("locale", [None, "pt-BR"], ids=["en", "pt-BR"])
def test_a_rep_works_a_lead_to_a_deal_moves_deals_and_finds_a_contact(
    journey, rep, rep_day, locale
):
    lead, company = rep_day["lead"], rep_day["company"]
    day = journey(f"rep-{locale or 'en'}", locale=locale)
    page = day.login(rep)
    # The page speaks the browser's language (the rep has no preference of her own).
    assert page.locator("html").get_attribute("lang") == ("pt-br" if locale else "en")

    # My day lists the new lead; it opens with where it came from.
    new_leads = page.get_by_test_id("home-leads")
    expect(new_leads.locator(f'a[href="/leads/{lead.pk}/"]')).to_be_visible()
    day.shot(page, "my-day")
    new_leads.locator(f'a[href="/leads/{lead.pk}/"]').click()
    expect(page.get_by_test_id("lead-first-response")).to_have_text("—")

    # A call logged in two clicks sets the lead's first response time.
    form = page.get_by_test_id("log-activity-form")
    form.locator(f'input[name=kind][value="{ActivityKind.CALL}"]').check(force=True)
    form.locator("input[name=subject]").fill("Discovery call")
    with page.expect_response(lambda r: "/activities/" in r.url and r.request.method == "POST"):
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("lead-first-response")).not_to_have_text("—")
    expect(page.get_by_test_id("timeline")).to_contain_text("Discovery call")
    day.shot(page, "call-logged")

    page.locator(f'form[action="/leads/{lead.pk}/qualify/"] button[type=submit]').click()
    page.wait_for_url(f"**/leads/{lead.pk}/")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED and lead.first_response_at is not None

    # Converting offers the existing company, already chosen.
    page.locator(f'a[href="/leads/{lead.pk}/convert/"]').click()
    link_company = page.get_by_test_id("company-choice").locator("input[value=link]")
    expect(link_company).to_be_checked()
    day.shot(page, "convert")
    page.get_by_test_id("convert-form").locator("button[type=submit]").click()
    page.wait_for_url("**/deals/*/")
    lead.refresh_from_db()
    deal = lead.converted_deal
    assert (deal.company, deal.stage, lead.status) == (
        company,
        default_pipeline().first_stage(),
        LeadStatus.CONVERTED,
    )
    assert deal.tasks.exists()  # the follow-up
    day.shot(page, "converted-deal")

    # The board: two deals forward, one to Lost with its reason; the totals follow.
    page.locator('#main-nav a[href="/deals/"]').click()
    page.locator('main a[href="/deals/board/"]').click()
    stages = list(default_pipeline().stages.order_by("order"))
    first, second, third = stages[:3]
    lost = next(stage for stage in stages if stage.outcome == "lost")
    forward, further, losing = rep_day["deals"]
    first_total = column(page, first).locator("[data-role=total]")
    totals_before = first_total.inner_text()
    expect(column(page, first).locator("[data-role=count]")).to_have_text("4")
    day.shot(page, "board")
    for deal_moved, stage in ((forward, second), (further, third)):
        with page.expect_response(lambda r: "/move/" in r.url) as moved:
            drag(page, deal_moved, stage)
        assert moved.value.status == 200
    drag(page, losing, lost)
    page.locator("#lost-reason-input").fill("Chose a competitor")
    with page.expect_response(lambda r: "/move/" in r.url) as moved:
        page.locator("#lost-reason-form button[type=submit]").click()
    assert moved.value.status == 200
    page.locator("#lost-reason-modal").wait_for(state="hidden")
    expect(column(page, first).locator("[data-role=count]")).to_have_text("1")
    expect(first_total).not_to_have_text(totals_before)
    expect(column(page, second).locator("[data-role=count]")).to_have_text("1")
    day.shot(page, "board-moved")
    for moved_deal in rep_day["deals"]:
        moved_deal.refresh_from_db()
    assert (forward.stage, further.stage) == (second, third)
    assert (losing.status, losing.lost_reason) == (DealStatus.LOST, "Chose a competitor")

    # A custom field value on a deal, from its page.
    page.locator(f'.deal-card[data-deal-id="{forward.pk}"] a[href="/deals/{forward.pk}/"]').click()
    page.locator(f'a[href="/deals/{forward.pk}/edit/"]').click()
    page.locator("select[name=custom__product_interest]").select_option("Analytics")
    day.shot(page, "custom-field")
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_url(f"**/deals/{forward.pk}/")
    forward.refresh_from_db()
    assert forward.custom == {"product_interest": "Analytics"}
    expect(page.locator("main")).to_contain_text("Analytics")

    # The header search finds a contact by phone number.
    page.locator("#header-search-q").fill(PHONE_NUMBER)
    page.locator("#header-search-q").press("Enter")
    page.wait_for_url("**/search/?*")
    contact = rep_day["contact"]
    day.shot(page, "phone-search")
    page.locator(f'main a[href="/contacts/{contact.pk}/"]').first.click()
    page.wait_for_url(f"**/contacts/{contact.pk}/")
    day.shot(page, "contact")


def emailed_path(to: str, path_start: str) -> str:
    """The path of the link emailed to `to` that starts with `path_start`, as a customer
    follows it (the live server's address differs from the installation's)."""
    for message in reversed(mail.outbox):
        if to in message.to:
            for link in LINK.findall(message.body):
                path = urlparse(link).path
                if path.startswith(path_start):
                    return path
    raise AssertionError(f"no {path_start} link emailed to {to}")


@pytest.fixture
def agent_day(agent):
    """Two tickets in the support team's queue, the urgent one closer to breaching its SLA,
    and a published article to link."""
    support = TeamFactory(name="Support", members=[agent])
    customer = ContactFactory(first_name="Marta", email="marta@cliente.example")
    calm = services.ticket_create(
        actor=None,
        data={
            "subject": "Question about invoices",
            "priority": "low",
            "team": support,
            "contact": customer,
            "company": customer.company,
        },
    )
    urgent = services.ticket_create(
        actor=None,
        data={
            "subject": "Cannot log in since this morning",
            "description": "The login page says my password is wrong.",
            "priority": "urgent",
            "team": support,
            "contact": customer,
            "company": customer.company,
        },
    )
    article = services.article_create(
        actor=agent,
        data={
            "title": "Resetting your password",
            "summary": "Reset it from the login page.",
            "body": "Open the login page and choose *Forgot your password?*.",
            "status": ArticleStatus.PUBLISHED,
        },
    )
    return {"urgent": urgent, "calm": calm, "customer": customer, "article": article}


def test_an_agent_answers_and_resolves_a_ticket_and_the_customer_answers_from_a_phone(
    journey, agent, agent_day, eager_tasks, mailoutbox
):
    ticket, customer = agent_day["urgent"], agent_day["customer"]
    day = journey("agent")
    page = day.login(agent)

    # The queue: the ticket closest to breaching its SLA first.
    page.locator('#main-nav a[href="/tickets/"]').click()
    rows = page.get_by_test_id("ticket-row")
    expect(rows.first.locator(f'a[href="/tickets/{ticket.pk}/"]')).to_be_visible()
    assert rows.count() == 2
    day.shot(page, "queue")
    rows.first.locator(f'a[href="/tickets/{ticket.pk}/"]').click()
    page.wait_for_url(f"**/tickets/{ticket.pk}/")

    # A reply with a knowledge-base link picked from the reply box.
    reply = page.get_by_test_id("reply-form")
    reply.locator("textarea[name=body]").fill("Hello Marta, this article explains it: ")
    page.locator("#kb-search").fill("password")
    page.locator("[data-kb-results] button").first.click()
    article_url = f"/help/{agent_day['article'].slug}/"  # the customer's page
    expect(reply.locator("textarea[name=body]")).to_have_value(re.compile(re.escape(article_url)))
    day.shot(page, "reply")
    reply.locator("button[type=submit]").click()
    expect(page.get_by_test_id("message-agent")).to_have_count(1)
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None

    # An internal note for a colleague: not a response, not emailed.
    emails_before = len(mail.outbox)
    reply = page.get_by_test_id("reply-form")
    reply.locator("textarea[name=body]").fill("Checked the account: the password was reset.")
    reply.locator("input[name=internal]").check()
    reply.locator("button[type=submit]").click()
    expect(page.get_by_test_id("message-note")).to_have_count(1)
    assert len(mail.outbox) == emails_before
    ticket.refresh_from_db()
    assert ticket.agent_reply_count == 1
    day.shot(page, "note")

    page.locator(f'form[action="/tickets/{ticket.pk}/resolve/"] button[type=submit]').click()
    expect(page.locator(f'form[action="/tickets/{ticket.pk}/reopen/"]')).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    day.shot(page, "resolved")

    # The customer answers the emailed survey from a phone: 4 of 5.
    phone = day.open(viewport=PHONE)
    phone.goto(emailed_path(customer.email, "/surveys/"))
    form = phone.get_by_test_id("survey-form")
    score = form.locator('input[name=score][value="4"]')
    form.locator(f'label[for="{score.get_attribute("id")}"]').click()
    form.locator("textarea[name=comment]").fill("Quick and kind.")
    day.shot(phone, "survey-phone")
    assert_fits(phone)
    form.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    day.shot(phone, "survey-thanks")
    answer = SurveyAnswer.objects.get(ticket=ticket, kind=SurveyKind.CSAT)
    assert (answer.score, answer.contact) == (4, customer)
    page.reload()
    expect(page.get_by_test_id("survey-answers")).to_contain_text("4")
    # ... and on the customer's page.
    page.locator(f'main a[href="/contacts/{customer.pk}/"]').first.click()
    expect(page.get_by_test_id("related-answers")).to_contain_text("Quick and kind.")
    day.shot(page, "customer-answer")
    page.go_back()

    # The customer replies through the link of the agent's email: the ticket reopens.
    phone.goto(emailed_path(customer.email, "/support/ticket/"))
    phone.get_by_test_id("customer-reply-form").locator("textarea[name=body]").fill(
        "It happened again today."
    )
    phone.get_by_test_id("customer-reply-form").locator("button[type=submit]").click()
    phone.wait_for_load_state()
    day.shot(phone, "customer-reply-phone")
    assert_fits(phone)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count) == (TicketStatus.OPEN, 1)
    page.reload()
    expect(page.locator(f'form[action="/tickets/{ticket.pk}/resolve/"]')).to_be_visible()
    day.shot(page, "reopened")


@pytest.fixture
def manager_month(rep, teammate, sales_team):
    """This month the team won two deals and lost two: a win rate of 50 % with records behind
    it."""
    won, lost = stage_named("Won"), stage_named("Lost")
    for n, owner in enumerate((rep, teammate, rep, teammate)):
        deal = DealFactory(name=f"Closed {n}", owner=owner, team=sales_team)
        if n < 2:
            services.deal_move_stage(deal=deal, stage=won, actor=owner)
        else:
            services.deal_move_stage(deal=deal, stage=lost, actor=owner, lost_reason="Price")


def test_a_manager_follows_a_kpi_to_its_records_exports_them_and_sets_a_team_goal(
    journey, manager, sales_team, manager_month, eager_tasks
):
    day = journey("manager")
    page = day.login(manager)

    page.locator('#main-nav a[href="/dashboards/"]').click()
    page.locator('main a[href="/dashboards/executive/"]').click()
    card = page.locator('.kpi-card[data-kpi="win_rate"]')
    expect(card).to_be_visible()
    day.shot(page, "executive-dashboard")

    # The win rate card opens its KPI page: numerator, denominator, breakdown, records.
    card.locator("a.kpi-value").click()
    page.wait_for_url("**/dashboards/kpi/win_rate/**")
    expect(page.get_by_test_id("kpi-numerator")).to_have_text("2")
    expect(page.get_by_test_id("kpi-denominator")).to_have_text("4")
    expect(page.get_by_test_id("breakdown").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("drill-count")).to_have_text("2")
    # The denominator's records: the lost deals too.
    page.locator('main a[href*="records=all"]').click()
    expect(page.get_by_test_id("drill-count")).to_have_text("4")
    drill = page.get_by_test_id("drill-down")
    expect(drill.locator("tbody tr")).to_have_count(4)
    day.shot(page, "kpi-drill-down")

    # Its records as CSV: the columns of the list on the page.
    with page.expect_download() as download:
        page.get_by_test_id("csv-export").click()
    with open(download.value.path(), encoding="utf-8-sig", newline="") as exported:
        rows = list(csv.reader(exported))
    assert rows[0] == [th.strip() for th in drill.locator("thead th").all_inner_texts()]
    assert len(rows) == 1 + 4

    # A team goal for the month, bound to the deals won, with its progress.
    page.locator('#main-nav a[href="/goals/"]').click()
    page.locator('main a[href="/goals/new/"]').first.click()
    form = page.get_by_test_id("goal-form")
    form.locator("[name=name]").fill("Sales team, this month")
    form.locator("[name=scope]").select_option("team")
    form.locator("[name=team]").select_option(str(sales_team.pk))
    form.locator("[name=grain]").select_option("month")
    form.locator("[name=status]").select_option("active")
    day.shot(page, "goal-form")
    form.locator("button").click()
    page.wait_for_url(re.compile(r"/goals/\d+/$"))
    goal = Goal.objects.get(name="Sales team, this month")
    assert (goal.scope, goal.team) == ("team", sales_team)

    page.locator(f'main a[href="/goals/{goal.pk}/targets/new/"]').first.click()
    target = page.get_by_test_id("target-form")
    target.locator("[name=name]").fill("Deals won")
    target.locator("[name=kind]").select_option("kpi")
    target.locator("[name=kpi_key]").select_option("deals_won_count")
    target.locator("[name=direction]").select_option("increase")
    target.locator("[name=start_value]").fill("0")
    target.locator("[name=target_value]").fill("4")
    target.locator("button").click()
    page.wait_for_url(f"**/goals/{goal.pk}/")
    expect(page.get_by_test_id("target-current")).to_have_text("2")
    expect(page.get_by_test_id("goal-progress")).to_contain_text("50")
    day.shot(page, "goal-progress")


def choose(page, select, value: str) -> None:
    """Picks a builder menu entry that redraws the builder, and waits for the redraw."""
    with page.expect_response(lambda response: response.request.method == "POST"):
        select.select_option(value)
    # htmx wires the swapped-in menus once they settle.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.wait_for_timeout(100)


def test_an_admin_adds_a_field_a_pipeline_and_an_automation_dry_run_then_enabled(
    journey, admin_user, rep, sales_team
):
    # A deal won this week: what the dry run replays.
    won = stage_named("Won")
    deal = DealFactory(name="Won last week", owner=rep, team=sales_team)
    services.deal_move_stage(deal=deal, stage=won, actor=rep)
    day = journey("admin")
    page = day.login(admin_user)

    page.locator('#main-nav a[href="/settings/"]').click()
    menu = page.get_by_test_id("settings-menu")
    day.shot(page, "settings")

    # A required select field on deals.
    menu.locator('a[href="/settings/fields/"]').click()
    page.get_by_test_id("field-new").click()
    form = page.get_by_test_id("field-form")
    form.locator("[name=record_type]").select_option("deal")
    form.locator("[name=label]").fill("Region")
    form.locator("[name=key]").fill("region")
    form.locator("[name=field_type]").select_option("select")
    form.locator("[name=choices]").fill("North\nSouth")
    form.locator("[name=required]").check()
    day.shot(page, "custom-field")
    form.locator("button[type=submit]").click()
    field = CustomField.objects.get(record_type="deal", key="region")
    expect(
        page.get_by_test_id("fields-deal").locator(f'a[href="/settings/fields/{field.pk}/"]')
    ).to_be_visible()
    assert (field.field_type, field.required) == ("select", True)

    # A second pipeline with its own stages.
    menu.locator('a[href="/settings/pipelines/"]').click()
    page.get_by_test_id("pipeline-create").locator("[name=name]").fill("Renewals")
    page.get_by_test_id("pipeline-create").locator("button[type=submit]").click()
    for name, probability in (("Due", "30"), ("Quoted", "70")):
        adder = page.get_by_test_id("stage-create")
        adder.locator("[name=name]").fill(name)
        adder.locator("[name=probability]").fill(probability)
        adder.locator("button[type=submit]").click()
        expect(page.get_by_test_id("stage-name").filter(has_text=name)).to_have_count(1)
    pipeline = Pipeline.objects.get(name="Renewals")
    assert [(s.name, s.probability) for s in pipeline.stages.filter(outcome="open")] == [
        ("Due", 30),
        ("Quoted", 70),
    ]
    day.shot(page, "pipeline")

    # When a deal is won, create a task: dry-run over 30 days, save, switch on.
    page.locator('#main-nav a[href="/automations/"]').click()
    page.get_by_test_id("new-rule").click()
    page.locator("#id-name").fill("Onboard won deals")
    choose(page, page.locator("#id-trigger-type"), "field.changed")
    choose(page, page.locator("#id-trigger-record_type"), "deal")
    choose(page, page.locator("#id-trigger-field"), "stage")
    page.locator("#id-trigger-to").select_option(str(won.pk))
    choose(page, page.locator("select[name=action-0-type]"), "create_task")
    page.locator("input[name=action-0-title]").fill("Onboarding call")
    page.locator("#id-dry_run_days").select_option("30")
    page.get_by_test_id("dry-run-draft").click()
    expect(page.get_by_test_id("dry-run-report")).to_be_visible()
    expect(page.get_by_test_id("dry-run-report")).to_contain_text(deal.name)
    day.shot(page, "dry-run")
    assert not Task.objects.filter(title="Onboarding call").exists()
    page.get_by_test_id("save-rule").click()
    page.get_by_test_id("rule-trigger").first.wait_for()
    rule = Rule.objects.get(name="Onboard won deals")
    assert not rule.enabled
    toggle = page.locator(f'form[action="/automations/{rule.pk}/toggle/"]')
    toggle.locator("button[type=submit]").click()
    expect(toggle.locator("input[name=enabled]")).to_have_value("false")
    rule.refresh_from_db()
    assert rule.enabled
    assert rule.trigger == {
        "type": "field.changed",
        "record_type": "deal",
        "field": "stage",
        "to": won.pk,
    }
    assert [action["type"] for action in rule.actions] == ["create_task"]
    day.shot(page, "rule-enabled")
