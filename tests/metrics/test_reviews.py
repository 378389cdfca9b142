"""The Monday review: a planted drop is named with the segment that drove it, every number of
its sentences is recomputed from the breakdowns, and each reader sees only their own reviews."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import DealStatus, LeadSource
from crm.money import format_percent
from goals.models import Goal, Health
from goals.models import Scope as GoalScope
from metrics.fill import write_period
from metrics.models import ReviewDelivery, ReviewSubscription, WeeklyReview
from metrics.periods import comparison_for, custom_period, local_midnight, period_for
from metrics.registry import Segment, get_kpi
from metrics.review_tasks import write_weekly_reviews
from metrics.reviews import (
    REVIEW_KPIS,
    review_week,
    send_review_emails,
    sentences,
    weeks_before,
    write_reviews,
)
from metrics.reviews_demo import seed_demo_reviews
from tests.crm.factories import CompanyFactory, DealFactory, LeadFactory, stage_named

pytestmark = pytest.mark.django_db

WEEK = review_week(timezone.localdate())
HISTORY = [WEEK - timedelta(weeks=n) for n in range(8, 0, -1)]


def close_deals(*, week_start, source, won, owners, team, company, count=10):
    """`count` deals of leads from `source` closed mid-week, the first `won` of them won,
    owned in turn by `owners`."""
    closed_at = timezone.make_aware(datetime.combine(week_start + timedelta(days=2), time(12)))
    for index in range(count):
        status = DealStatus.WON if index < won else DealStatus.LOST
        DealFactory(
            owner=owners[index % len(owners)],
            team=team,
            company=company,
            source_lead=LeadFactory(source=source),
            stage=stage_named("Won" if status == DealStatus.WON else "Lost"),
            status=status,
            closed_at=closed_at,
            created_at=closed_at - timedelta(days=20),
        )


def fill_weeks(weeks):
    kpis = [get_kpi(key) for key in REVIEW_KPIS]
    for start in weeks:
        write_period(period=period_for("week", start), kpis=kpis, complete=True)


@pytest.fixture
def history(sales_team, other_team, rep, teammate):
    """Eight steady weeks at a 50 % win rate, then a week where Referral leads are lost:
    1 won of 10 instead of 5, split evenly between two owners."""
    company = CompanyFactory()
    owners = [rep, teammate]
    for start in [*HISTORY, WEEK]:
        referral_won = 1 if start == WEEK else 5
        close_deals(
            week_start=start,
            source=LeadSource.REFERRAL,
            won=referral_won,
            owners=owners,
            team=sales_team,
            company=company,
        )
        close_deals(
            week_start=start,
            source=LeadSource.WEB,
            won=5,
            owners=owners,
            team=sales_team,
            company=company,
        )
    fill_weeks([*HISTORY, WEEK])
    write_reviews(week_start=WEEK)


def company_review():
    return WeeklyReview.objects.get(scope="company", week_start=WEEK)


def test_the_planted_drop_is_named_with_the_segment_that_drove_it(history):
    moves = company_review().facts["moves"]
    assert moves[0]["kpi"] == "win_rate"
    assert moves[0]["side"] == "below"
    assert moves[0]["driver"]["field"] == "lead_source"
    assert moves[0]["driver"]["value"] == LeadSource.REFERRAL


def test_the_move_and_its_driver_are_recomputed_from_the_breakdowns(history):
    move = company_review().facts["moves"][0]
    kpi = get_kpi("win_rate")
    week, before = period_for("week", WEEK), weeks_before(WEEK)
    overall = kpi.value(week)
    assert Decimal(move["value"]) == overall.value == Decimal("30.0")
    assert (Decimal(move["numerator"]), Decimal(move["denominator"])) == (6, 20)
    assert Decimal(move["median"]) == Decimal(50)
    # The Referral slice's share of the change: (N1 − r0·D1)/D1 − (N0 − r0·D0)/D0, × 100.
    after_rows = kpi.breakdown(week, "lead_source")
    before_rows = kpi.breakdown(before, "lead_source")
    before_all = kpi.value(before)
    r0 = before_all.numerator / before_all.denominator
    referral_after, referral_before = after_rows["referral"], before_rows["referral"]
    expected = 100 * (
        (referral_after.numerator - r0 * referral_after.denominator) / overall.denominator
        - (referral_before.numerator - r0 * referral_before.denominator) / before_all.denominator
    )
    driver = move["driver"]
    assert Decimal(driver["contribution"]) == expected.quantize(Decimal("0.0001"))
    assert Decimal(driver["contribution"]) == Decimal("-20.0000")
    assert Decimal(driver["after"]["value"]) == referral_after.value == Decimal("10.0")
    assert Decimal(driver["before"]["value"]) == referral_before.value == Decimal("50.0")


def test_the_sentences_say_those_numbers(history, manager):
    with translation.override("en"):
        said = [sentence.text for sentence in sentences(company_review(), manager)]
    assert said[0].startswith("Win rate fell to 30.0% (6 of 20) in the week of")
    assert "below its usual range of 42.5% to 57.5% (median 50.0% over 8 weeks)" in said[0]
    assert said[1] == (
        "Most of the drop is Lead source Referral: 10.0% (1 of 10) this week against 50.0% "
        "in the 8 weeks before, −20.0 pts of the change."
    )


def test_the_month_so_far_is_recomputed_from_the_records(history, manager):
    month = company_review().facts["month"]
    last = period_for("week", WEEK).end_date
    so_far = custom_period(last.replace(day=1), last)
    assert (month["start"], month["end"]) == (so_far.start_date.isoformat(), last.isoformat())
    kpi = get_kpi("win_rate")
    item = next(item for item in month["kpis"] if item["kpi"] == "win_rate")
    now = kpi.value(so_far)
    before_period = comparison_for(
        period_for("month", last), local_midnight(last) + timedelta(hours=12)
    ).period
    assert Decimal(item["now"]["value"]) == now.value
    assert Decimal(item["before"]["value"]) == kpi.value(before_period).value
    with translation.override("en"):
        said = [sentence.text for sentence in sentences(company_review(), manager)]
    expected = (
        f"Win rate {format_percent(now.value)} ({now.numerator:.0f} of {now.denominator:.0f}), "
        f"against {format_percent(kpi.value(before_period).value)} over the same days"
    )
    assert any(text.startswith("Month so far (") and expected in text for text in said)


def test_each_sentence_links_to_the_records_behind_it(history, manager):
    first, driver = sentences(company_review(), manager)[:2]
    week = f"grain=week&date={WEEK.isoformat()}"
    assert first.url == f"{reverse('kpi', args=['win_rate'])}?{week}&segment="
    assert (
        driver.url == f"{reverse('kpi', args=['win_rate'])}?{week}&segment=lead_source%3Dreferral"
    )


@pytest.mark.parametrize(
    ("language", "words", "number"),
    [
        ("pt-br", "caiu para", "30,0"),
        ("es", "bajó a", "30,0"),
        ("it", "scende a", "30,0"),
    ],
)
def test_the_review_reads_in_the_readers_language(history, manager, language, words, number):
    """Needs the catalogues with var/i18n/reviews.json merged."""
    with translation.override(language):
        first = sentences(company_review(), manager)[0].text
    assert words in first
    assert number in first


def test_a_team_review_names_the_member_behind_the_move(history, sales_team):
    review = WeeklyReview.objects.get(scope="team", team=sales_team, week_start=WEEK)
    move = review.facts["moves"][0]
    assert move["kpi"] == "win_rate"
    driver = move["driver"]
    assert driver["field"] == "owner"
    # Recomputed: the member's rows against the team's own totals.
    kpi, team = get_kpi("win_rate"), Segment("team", str(sales_team.pk))
    week, before = period_for("week", WEEK), weeks_before(WEEK)
    after_all, before_all = kpi.value(week, team), kpi.value(before, team)
    mine_after = kpi.breakdown(week, "owner")[driver["value"]]
    mine_before = kpi.breakdown(before, "owner")[driver["value"]]
    r0 = before_all.numerator / before_all.denominator
    expected = 100 * (
        (mine_after.numerator - r0 * mine_after.denominator) / after_all.denominator
        - (mine_before.numerator - r0 * mine_before.denominator) / before_all.denominator
    )
    assert Decimal(driver["contribution"]) == expected.quantize(Decimal("0.0001")) < 0
    assert Decimal(driver["after"]["value"]) == mine_after.value


def test_goals_on_and_off_track_are_told_with_their_numbers(history, manager):
    week = period_for("week", WEEK)
    goal = Goal.objects.create(
        name="Win more",
        owner=manager,
        scope=GoalScope.COMPANY,
        grain="month",
        start_date=week.start_date.replace(day=1),
        end_date=week.end_date + timedelta(days=20),
        health=Health.OFF_TRACK,
        progress=Decimal("40.0"),
        forecast=Decimal("70.0"),
    )
    write_reviews(week_start=WEEK)
    with translation.override("en"):
        last = sentences(company_review(), manager)[-1]
    assert last.text == "Goal “Win more” is off track: 40.0% done, forecast 70.0%."
    assert last.url == reverse("goal", args=[goal.pk])
    assert last.tone == "bad"


def test_a_steady_history_says_nothing_moved(sales_team, rep, teammate, manager):
    company = CompanyFactory()
    for start in [*HISTORY, WEEK]:
        close_deals(
            week_start=start,
            source=LeadSource.WEB,
            won=10,
            owners=[rep, teammate],
            team=sales_team,
            company=company,
            count=20,
        )
    fill_weeks([*HISTORY, WEEK])
    write_reviews(week_start=WEEK)
    with translation.override("en"):
        said = [sentence.text for sentence in sentences(company_review(), manager)]
    assert company_review().facts["moves"] == []
    assert said[0].startswith("No KPI left its usual range in the week of")


def test_writing_twice_keeps_one_review_per_subject(history):
    before = WeeklyReview.objects.count()
    write_reviews(week_start=WEEK)
    assert WeeklyReview.objects.count() == before
    assert WeeklyReview.objects.filter(scope="company").count() == 1


# Who reads what -------------------------------------------------------------------------------


def scopes_on_page(client, user):
    client.force_login(user)
    response = client.get(reverse("reviews"))
    assert response.status_code == 200
    return response, [review["review"].scope for review in response.context["shown"]]


def test_a_manager_reads_the_company_and_their_teams(client, history, manager, other_team):
    response, scopes = scopes_on_page(client, manager)
    assert sorted(scopes) == ["company", "team"]
    assert response.context["shown"][1]["review"].team.name == "Sales"
    assert "Win rate fell to" in response.content.decode()


def test_a_rep_reads_only_their_own_review(client, history, rep, outsider):
    response, scopes = scopes_on_page(client, rep)
    assert scopes == ["person"]
    assert response.context["shown"][0]["review"].person == rep
    _response, scopes = scopes_on_page(client, outsider)
    assert scopes == ["person"]
    body = _response.content.decode()
    assert "Team Sales" not in body and "Referral" not in body and "Win rate" not in body


def test_an_unknown_week_shows_the_latest(client, history, manager):
    client.force_login(manager)
    for week in ("nonsense", "2001-01-01", "9999-99-99", "2026-13-45", "-1"):
        response = client.get(reverse("reviews"), {"week": week})
        assert response.status_code == 200
        assert response.context["chosen"] == WEEK


# Email ---------------------------------------------------------------------------------------


def test_opting_in_and_out_of_the_email(client, manager):
    client.force_login(manager)
    client.post(reverse("review-email"), {"enabled": "1"})
    client.post(reverse("review-email"), {"enabled": "1"})
    assert ReviewSubscription.objects.filter(user=manager).count() == 1
    client.post(reverse("review-email"), {"enabled": "0"})
    assert not ReviewSubscription.objects.filter(user=manager).exists()


def test_the_email_goes_once_in_the_readers_language(history, manager, outsider):
    manager.email, manager.language = "carla@example.com", "it"
    manager.save(update_fields=["email", "language"])
    ReviewSubscription.objects.create(user=manager)
    assert send_review_emails(week_start=WEEK) == 1
    assert send_review_emails(week_start=WEEK) == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["carla@example.com"]
    assert "30,0" in mail.outbox[0].body
    assert ReviewDelivery.objects.filter(user=manager, week_start=WEEK).count() == 1


def test_the_monday_task_writes_the_reviews(sales_team, rep):
    assert write_weekly_reviews(WEEK.isoformat()) == WeeklyReview.objects.count()
    assert WeeklyReview.objects.filter(scope="company", week_start=WEEK).exists()


def test_a_reps_review_holds_only_their_own_numbers(history, rep):
    review = WeeklyReview.objects.get(scope="person", person=rep, week_start=WEEK)
    assert review.facts["segment"] == f"owner={rep.pk}"
    assert all(move["driver"] is None for move in review.facts["moves"])
    mine = custom_period(date.fromisoformat(review.facts["month"]["start"]), WEEK + timedelta(6))
    for item in review.facts["month"]["kpis"]:
        kpi = get_kpi(item["kpi"])
        assert Decimal(item["now"]["value"]) == kpi.value(mine, Segment("owner", str(rep.pk))).value


def test_the_demo_writes_the_last_weeks(sales_team, rep):
    seed_demo_reviews(scale="small", today=timezone.localdate())
    weeks = set(WeeklyReview.objects.values_list("week_start", flat=True))
    assert len(weeks) == 3
    assert max(weeks) >= WEEK


def test_an_admin_reads_the_company_and_every_team_but_not_each_reps_version(
    client, history, admin_user
):
    _response, scopes = scopes_on_page(client, admin_user)
    assert sorted(scopes) == ["company", "team", "team"]
