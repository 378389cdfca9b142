"""Each role's day (../shared/JOURNEYS.md, issue 14) clicked through in Chromium from the login
form, with screenshots at the main steps under var/screenshots/<journey>/ and no console error
or CSP refusal allowed. The rep's journey also runs whole in Brazilian Portuguese, so the
journeys find elements by role, name, URL, data attributes and ids, never by English words."""

import pytest
from playwright.sync_api import expect

from crm.models import (
    ActivityKind,
    DealStatus,
    FieldType,
    LeadStatus,
    RecordType,
)
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    default_pipeline,
)

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE_NUMBER = "+55 11 98765-4321"


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
