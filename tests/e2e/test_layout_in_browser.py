"""Pages at the sizes people use them (issue 15, items 15 and 18): the deals list on a 1366 px
laptop, record, search, KPI and knowledge pages on a 390 px phone, and a logged activity under
the strict CSP."""

from pathlib import Path

import pytest

from crm import services
from crm.models import ActivityKind, ArticleStatus, SurveyKind
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
    TicketFactory,
    stage_named,
)
from tests.services import csp_violations

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

# What real records hold and narrow screens trip on: words longer than a phone is wide.
EMAIL = "alexandra.konstantinopoulou-vandenberghe@international-holdings-worldwide.example"
DOMAIN = "international-holdings-worldwide-procurement.example"
URL = "https://docs.example.com/" + "a-very-long-path-segment-" * 5 + "end"
COMPANY = "Konstantinopoulou International Holdings Worldwide"
DEAL = "Konstantinopoulou Holdings – Enterprise plan renewal"


@pytest.fixture
def records(rep, sales_team, agent):
    company = CompanyFactory(
        name=COMPANY, domain=DOMAIN, owner=rep, team=sales_team, address=f"See {URL}"
    )
    contact = ContactFactory(
        company=company,
        owner=rep,
        team=sales_team,
        email=EMAIL,
        title="Head of Procurement and Vendor Relationship Management",
    )
    deals = [
        DealFactory(
            name=f"{DEAL} #{n}", company=company, contact=contact, owner=rep, team=sales_team
        )
        for n in range(4)
    ]
    # Won and lost deals this month give the win rate a breakdown to show.
    services.deal_move_stage(deal=deals[0], stage=stage_named("Won"), actor=rep)
    services.deal_move_stage(
        deal=deals[1], stage=stage_named("Lost"), actor=rep, lost_reason="Budget"
    )
    SubscriptionFactory(company=company, plan_name="Enterprise annual with premium support")
    TicketFactory(contact=contact, company=company, subject=f"Cannot open {URL}")
    SurveyAnswerFactory(contact=contact, company=company, kind=SurveyKind.CSAT, score=4)
    services.activity_log(
        actor=rep, kind=ActivityKind.NOTE, subject="Links", body=URL, company=company
    )
    services.activity_log(
        actor=rep, kind=ActivityKind.NOTE, subject="Links", body=URL, contact=contact
    )
    LeadFactory(name="Alexandra Konstantinopoulou", email=EMAIL, owner=rep, team=sales_team)
    article = services.article_create(
        actor=agent,
        data={
            "title": "Connecting the International Holdings single sign-on provider",
            "summary": f"Read {URL} first.",
            "body": (
                f"Open {URL} and copy the key.\n\n"
                f"    curl --header 'Authorization: Bearer 0123456789abcdef' {URL}\n\n"
                "| Setting | Value | Where | Notes |\n|---|---|---|---|\n"
                f"| Entity ID | {DOMAIN} | {URL} | {EMAIL} |\n"
            ),
            "status": ArticleStatus.PUBLISHED,
        },
    )
    return {"company": company, "contact": contact, "article": article}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_on_a_phone_pages_do_not_scroll_sideways(page_as, manager, records):
    page = page_as(manager)
    page.set_viewport_size(PHONE)
    pages = {
        "search": "/search/?q=a",
        "company": f"/companies/{records['company'].pk}/",
        "contact": f"/contacts/{records['contact'].pk}/",
        "kpi": "/dashboards/kpi/win_rate/",
        "knowledge": "/knowledge/",
        "article": f"/knowledge/{records['article'].pk}/",
    }
    widths = {}
    for name, path in pages.items():
        page.goto(path)
        widths[name] = page_width(page)
        page.screenshot(path=SCREENSHOTS / f"phone_{name}.png", full_page=True)

    assert widths == {name: 390 for name in pages}


def test_on_a_laptop_the_deals_list_shows_every_column_and_chooses_columns_above(
    page_as, rep, records
):
    page = page_as(rep)
    page.set_viewport_size(LAPTOP)
    page.goto("/deals/")
    page.screenshot(path=SCREENSHOTS / "laptop_deals.png")
    table = page.get_by_test_id("list-table")
    frame = page.locator(".table-responsive").filter(has=table)

    # Every column fits: the table does not scroll inside its frame.
    assert table.evaluate("t => t.scrollWidth") <= frame.evaluate("f => f.clientWidth")
    assert page_width(page) == 1366
    # A long name takes at most two lines.
    name = page.locator("td a", has_text=DEAL).first
    line = name.evaluate("a => parseFloat(getComputedStyle(a).lineHeight)")
    assert name.bounding_box()["height"] <= 2 * line + 1
    # The column chooser is in the toolbar above the table, not under the rows.
    chooser = page.locator("summary", has_text="Choose columns")
    assert chooser.bounding_box()["y"] < table.bounding_box()["y"]


def test_logging_an_activity_swaps_the_panels_without_a_csp_refusal(page_as, rep, records):
    page = page_as(rep)
    refused = csp_violations(page)
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"/companies/{records['company'].pk}/")
    # A script that once set a style property leaves style="" on the element (Bootstrap's
    # collapse and modal do, browser add-ons do on form fields); htmx copied that attribute
    # onto the swapped-in twin, refused by the CSP each time.
    page.evaluate(
        """document.querySelectorAll('.record-panels, .record-panels [id]').forEach(e => {
            e.style.outline = '1px solid'; e.style.outline = '';
        })"""
    )
    form = page.get_by_test_id("log-activity-form")
    form.locator("input[name=subject]").fill("Called about the renewal")
    with page.expect_response(lambda r: "/activities/" in r.url) as logged:
        form.locator("button[type=submit]").click()
    assert logged.value.status == 200
    page.get_by_test_id("timeline").get_by_text("Called about the renewal").wait_for()

    assert refused == []
    assert failed == []  # the icon too: no 404 for /favicon.ico
    assert page.goto("/favicon.ico").status == 200


def test_on_a_1280_px_screen_the_admins_bar_fits_and_the_user_menu_logs_out(page_as, admin_user):
    """The admin's bar holds the most links: laid out in one row it pushed the user's links and
    "Log out" past a 1280 px screen's right edge. It wraps, and the user's pages are a menu."""
    page = page_as(admin_user)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/")

    bar = page.locator("nav.navbar")
    rights = bar.locator("a:visible, button:visible, input:visible").evaluate_all(
        "nodes => nodes.map(n => n.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= 1280
    page.get_by_test_id("current-user").click()
    assert page.get_by_test_id("exports-link").is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")
