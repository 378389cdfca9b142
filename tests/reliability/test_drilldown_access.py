"""Every KPI's drill-down (page and CSV), read by a manager of another team and by a rep of
another team, names none of Sales' records or people (issue 16, item 1).

A small dataset: Sales and East each have a few deals (open, won, lost, moved through stages),
leads, customers with subscriptions, a churned customer, tickets, survey answers and logins.
Every name of a Sales record or person contains SECRET; a page or CSV that shows one to an
East reader counts as an unauthorised success. Crafted segments naming Sales (its team, its
rep) are hostile inputs and must be refused.

Tickets are the one exception crm.access makes on purpose: managers see every ticket, and so
the ticket's subject, customer and assignee. Those Sales names carry TICKET instead, a secret
for the rep only.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm import models as m
from crm import services
from metrics.periods import period_for
from metrics.registry import all_kpis
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    LeadFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
    TicketFactory,
    stage_named,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "Zqxsales"
TICKET = "Qvtdesk"
MARCH = "grain=month&date=2026-03-15"


def at(month, day, hour=12):
    return timezone.make_aware(datetime(2026, month, day, hour))


LAST_YEAR = timezone.make_aware(datetime(2025, 6, 1))


def team_records(prefix: str, team, rep, agent) -> None:
    """A few records of every kind a KPI counts, all in or around March 2026."""
    customer = CompanyFactory(
        name=f"{prefix} customer",
        owner=rep,
        team=team,
        lifecycle=m.Lifecycle.CUSTOMER,
        customer_since=LAST_YEAR,
    )
    newcomer = CompanyFactory(
        name=f"{prefix} newcomer",
        owner=rep,
        team=team,
        lifecycle=m.Lifecycle.CUSTOMER,
        customer_since=at(3, 5),
    )
    CompanyFactory(
        name=f"{prefix} churned",
        owner=rep,
        team=team,
        lifecycle=m.Lifecycle.CHURNED,
        customer_since=LAST_YEAR,
        churned_at=at(3, 20),
    )
    SubscriptionFactory(company=customer, start_date=date(2025, 6, 1))
    SubscriptionFactory(company=newcomer, start_date=date(2026, 3, 5), end_date=date(2026, 3, 31))
    contact = ContactFactory(
        first_name=prefix, last_name="Contact", company=customer, owner=rep, team=team
    )

    def deal(name, *, kind=m.DealKind.NEW_BUSINESS, company=customer, outcome=None):
        made = services.deal_create(
            actor=None,
            stage=stage_named("Prospecting"),
            data={
                "name": f"{prefix} {name}",
                "owner": rep,
                "team": team,
                "company": company,
                "kind": kind,
                "amount": Decimal("1000"),
                "created_at": at(3, 1),
            },
        )
        services.deal_move_stage(
            deal=made, stage=stage_named("Qualification"), actor=None, at=at(3, 4)
        )
        if outcome:
            reason = "Too expensive" if outcome == "Lost" else ""
            services.deal_move_stage(
                deal=made, stage=stage_named(outcome), actor=None, at=at(3, 10), lost_reason=reason
            )

    deal("open deal")
    deal("won deal", company=newcomer, outcome="Won")
    deal("upsell", kind=m.DealKind.UPSELL, outcome="Won")
    deal("cross-sell", kind=m.DealKind.CROSS_SELL, outcome="Won")
    deal("lost deal", outcome="Lost")
    for n, status in enumerate([m.LeadStatus.NEW, m.LeadStatus.QUALIFIED]):
        LeadFactory(
            name=f"{prefix} lead {n}",
            company_name=f"{prefix} prospect {n}",
            owner=rep,
            team=team,
            status=status,
            created_at=at(3, 2),
            first_response_at=at(3, 2, 15),
        )
    desk = CompanyFactory(name=f"{prefix.replace(SECRET, TICKET)} client", owner=rep, team=team)
    for n in range(2):
        ticket = TicketFactory(
            subject=f"{prefix.replace(SECRET, TICKET)} ticket {n}",
            company=desk,
            contact=ContactFactory(company=desk, owner=rep, team=team),
            assignee=agent,
            team=team,
            created_at=at(3, 3),
            first_response_at=at(3, 3, 14),
            resolved_at=at(3, 4) if n else None,
        )
    for kind, score in [(m.SurveyKind.NPS, 9), (m.SurveyKind.CSAT, 4), (m.SurveyKind.CES, 2)]:
        SurveyAnswerFactory(
            kind=kind,
            score=score,
            company=customer,
            contact=contact,
            comment=f"{prefix} says hello",
            answered_at=at(3, 6),
        )
    SurveyAnswerFactory(
        kind=m.SurveyKind.CSAT,
        score=5,
        company=desk,
        contact=ticket.contact,
        ticket=ticket,
        comment=f"{prefix} answer on a ticket",
        answered_at=at(3, 6),
    )
    for user in (rep, agent):
        m.LoginEvent.objects.create(user=user, at=at(3, 7))
        m.Event.objects.create(
            type="deal.updated", record_type="deal", record_id=1, actor=user, occurred_at=at(3, 7)
        )


@pytest.fixture
def world(db):
    def person(username, first, role):
        return UserFactory(username=username, first_name=first, last_name="Person", role=role)

    sales_rep = person("zqxsales_rep", f"{SECRET}Rep", m.Role.SALES_REP)
    sales_agent = person("qvtdesk_agent", f"{TICKET}Agent", m.Role.SUPPORT_AGENT)
    sales = TeamFactory(name=f"{SECRET} team", members=[sales_rep, sales_agent])
    east_manager = person("east_manager", "Eastmanager", m.Role.MANAGER)
    east_rep = person("east_rep", "Eastrep", m.Role.SALES_REP)
    east_agent = person("east_agent", "Eastagent", m.Role.SUPPORT_AGENT)
    east = TeamFactory(name="East team", manager=east_manager, members=[east_rep, east_agent])
    team_records(SECRET, sales, sales_rep, sales_agent)
    team_records("East", east, east_rep, east_agent)
    return {
        "sales": sales,
        "sales_rep": sales_rep,
        "east": east,
        "east_manager": east_manager,
        "east_rep": east_rep,
    }


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_no_kpi_drill_down_names_another_teams_records(world, figures):
    kpis = all_kpis()
    readers = [
        # (reader, the segment they read, the names they must never see)
        (world["east_manager"], "", (SECRET,)),
        (world["east_rep"], f"team%3D{world['east'].pk}", (SECRET, TICKET)),
    ]
    crafted = [f"team%3D{world['sales'].pk}", f"owner%3D{world['sales_rep'].pk}"]
    with_hidden_rows = set()
    for reader, segment, secrets in readers:
        client = Client(raise_request_exception=False)
        client.force_login(reader)
        for kpi in kpis:
            for name in ("kpi", "kpi-export"):
                base = f"{reverse(name, args=[kpi.key])}?{MARCH}&records=all"
                where = f"{kpi.key} {name} as {reader.username}"
                response = client.get(f"{base}&segment={segment}&by=owner")
                if response.status_code >= 500:
                    figures.add("server_errors", where)
                    continue
                # 400: the CSV of a KPI that cannot be split by the rep's team (cac, clv...).
                assert response.status_code in (200, 400), where
                text = body(response)
                for secret in secrets:
                    if secret in text:
                        figures.add("unauthorised_successes", f"{where}: shows {secret}")
                if name == "kpi" and response.context.get("hidden_count"):
                    with_hidden_rows.add(kpi.key)
                # One crafted segment per route: Sales' team on the page, its rep on the CSV.
                bad = crafted[0] if name == "kpi" else crafted[1]
                figures.tried("bad_inputs")
                refused = client.get(f"{base}&segment={bad}")
                if refused.status_code >= 500:
                    figures.add("server_errors", f"{where} segment={bad}")
                elif refused.status_code in (400, 404):
                    figures.add("clean_rejections")
                else:
                    figures.add("unauthorised_successes", f"{where} segment={bad}")
    # The walk saw something to hide: every KPI left Sales' rows out of the manager's page,
    # but those on tickets (crm.access shows a manager every ticket).
    march = period_for("month", date(2026, 3, 15))
    expected = {kpi.key for kpi in kpis if kpi.records(march).model is not m.Ticket}
    assert with_hidden_rows == expected, sorted(expected ^ with_hidden_rows)
