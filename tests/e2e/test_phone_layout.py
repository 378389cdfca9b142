"""Every main page on a 390 × 844 phone (issue 14): the page itself never scrolls sideways, and a
table wider than the screen scrolls inside its card. Screenshots under var/screenshots/phone/."""

import pytest

from crm import services
from crm.models import ArticleStatus, SurveyKind
from crm.services import support
from goals.models import Scope
from tests.automations.factories import make_rule
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    stage_named,
)
from tests.e2e.conftest import PHONE
from tests.goals.factories import make_goal, make_target

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# What real records hold and narrow screens trip on: words longer than a phone is wide.
EMAIL = "alexandra.konstantinopoulou-vandenberghe@international-holdings-worldwide.example"
COMPANY = "Konstantinopoulou International Holdings Worldwide Procurement"
DEAL = "Konstantinopoulou Holdings – Enterprise plan renewal with premium support"

# Tables wider than the room they are given, with no scrolling box around them (clipped or
# pushing the page), by data-testid or class.
UNBOXED_TABLES = """() => [...document.querySelectorAll("table")].filter((table) => {
  if (table.scrollWidth <= table.parentElement.clientWidth + 1) return false;
  for (let box = table; box && box !== document.body; box = box.parentElement) {
    if (["auto", "scroll"].includes(getComputedStyle(box).overflowX)) return false;
  }
  return true;
}).map((table) => table.dataset.testid || table.className)"""

# The outermost elements that reach past the right edge: what to fix when a page is too wide.
OVERFLOWING = """() => [...document.body.querySelectorAll("*")].filter((element) => {
  const reaches = (e) => e.getBoundingClientRect().right > window.innerWidth + 1;
  return reaches(element) && !reaches(element.parentElement);
}).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`)"""


@pytest.fixture
def records(admin_user, rep, agent, sales_team):
    company = CompanyFactory(
        name=COMPANY, domain="konstantinopoulou-holdings.example", owner=rep, team=sales_team
    )
    contact = ContactFactory(
        company=company, owner=rep, team=sales_team, email=EMAIL, phone="+30 21 0123 4567"
    )
    deals = [
        DealFactory(
            name=f"{DEAL} #{n}", company=company, contact=contact, owner=rep, team=sales_team
        )
        for n in range(3)
    ]
    services.deal_move_stage(deal=deals[0], stage=stage_named("Won"), actor=rep)
    services.deal_move_stage(
        deal=deals[1], stage=stage_named("Lost"), actor=rep, lost_reason="Budget"
    )
    lead = LeadFactory(
        name="Alexandra Konstantinopoulou",
        email=EMAIL,
        owner=rep,
        team=sales_team,
        company_name=COMPANY,
    )
    TaskFactory(title=f"Call about {DEAL}", assignee=admin_user)
    ticket = services.ticket_create(
        actor=None,
        data={
            "subject": f"Cannot reach {EMAIL} since the migration",
            "description": f"Write to {EMAIL}, the address in the contract.",
            "priority": "high",
            "contact": contact,
            "company": company,
        },
    )
    article = services.article_create(
        actor=agent,
        data={
            "title": "Connecting the International Holdings single sign-on provider",
            "summary": "Read the identity provider's guide first.",
            "body": "| Setting | Value | Where |\n|---|---|---|\n"
            f"| Entity ID | {EMAIL} | {EMAIL} |\n",
            "status": ArticleStatus.PUBLISHED,
        },
    )
    goal = make_goal(
        owner=admin_user,
        scope=Scope.TEAM,
        team=sales_team,
        name="Sales team: renewals and new business this quarter",
    )
    make_target(goal, kind="kpi", kpi_key="deals_won_count", start_value=0, target_value=10)
    rule = make_rule(
        name="When a deal is won, onboard the customer",
        trigger={"type": "record.created", "record_type": "deal"},
        actions=[{"type": "set_lifecycle", "lifecycle": "customer"}],
    )
    survey = services.survey_invite(kind=SurveyKind.CSAT, ticket=ticket)
    return {
        "company": company,
        "contact": contact,
        "deal": deals[2],
        "lead": lead,
        "ticket": ticket,
        "article": article,
        "goal": goal,
        "rule": rule,
        "survey": survey.token,
        "customer_ticket": support.customer_link_token(ticket),
    }


def main_pages(r) -> dict[str, str]:
    return {
        "my-day": "/",
        "leads": "/leads/",
        "lead": f"/leads/{r['lead'].pk}/",
        "contacts": "/contacts/",
        "contact": f"/contacts/{r['contact'].pk}/",
        "companies": "/companies/",
        "company": f"/companies/{r['company'].pk}/",
        "deals": "/deals/",
        "board": "/deals/board/",
        "deal": f"/deals/{r['deal'].pk}/",
        "tasks": "/tasks/",
        "tickets": "/tickets/",
        "ticket": f"/tickets/{r['ticket'].pk}/",
        "knowledge": "/knowledge/",
        "article": f"/knowledge/{r['article'].pk}/",
        "dashboards": "/dashboards/",
        "executive": "/dashboards/executive/",
        "support-dashboard": "/dashboards/support/",
        "kpi": "/dashboards/kpi/win_rate/",
        "goals": "/goals/",
        "goal": f"/goals/{r['goal'].pk}/",
        "automations": "/automations/",
        "rule": f"/automations/{r['rule'].pk}/",
        "rule-builder": "/automations/new/",
        "settings": "/settings/",
        "settings-fields": "/settings/fields/",
        "settings-users": "/settings/users/",
        "search": "/search/?q=Konstantinopoulou",
    }


def public_pages(r) -> dict[str, str]:
    return {
        "survey": f"/surveys/{r['survey']}/",
        "customer-ticket": f"/support/ticket/{r['customer_ticket']}/",
        "help": "/help/",
        "contact-support": "/support/",
    }


def measure(page, day, name: str, path: str, too_wide: dict) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    unboxed = page.evaluate(UNBOXED_TABLES)
    if width > PHONE["width"] or unboxed:
        too_wide[name] = {
            "width": width,
            "unboxed tables": unboxed,
            "overflowing": page.evaluate(OVERFLOWING),
        }
    day.shots += 1
    page.screenshot(path=day.folder / f"{day.shots:02d}-{name}.png", full_page=True)


def test_on_a_phone_no_page_scrolls_sideways(journey, admin_user, records):
    day = journey("phone")
    too_wide = {}

    page = day.login(admin_user, viewport=PHONE)
    for name, path in main_pages(records).items():
        measure(page, day, name, path, too_wide)
    customer = day.open(viewport=PHONE)
    for name, path in public_pages(records).items():
        measure(customer, day, name, path, too_wide)

    assert too_wide == {}
    day.assert_clean()
