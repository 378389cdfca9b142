"""The ready-made dashboards are computed in the background after records change
(metrics.warm), so their first view reads the cache (issue 19)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import models as m
from metrics.numbers import Reader
from metrics.tasks import warm_dashboards
from metrics.warm import readers_languages
from tests.metrics.test_live_numbers import closed_deal, lose, open_deal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def warming_on(settings):
    # Tests run the task in their own process: its cache is the pages' cache.
    settings.CRM_WARM_DASHBOARDS = True


def test_without_a_shared_cache_nothing_is_warmed(settings, deals):
    settings.CRM_WARM_DASHBOARDS = False
    assert warm_dashboards.apply().get() == 0


RECORD_TABLES = ('"crm_deal"', '"crm_subscription"', '"crm_surveyanswer"', '"crm_ticket"')


def reads_of_records(queries) -> list[str]:
    return [q["sql"] for q in queries if any(table in q["sql"] for table in RECORD_TABLES)]


@pytest.fixture
def deals(rep, sales_team):
    closed_deal(rep, sales_team, m.StageOutcome.WON)
    return open_deal(rep, sales_team)


def records_read_after_warming(client, user, url) -> list[str]:
    """The queries of records `user`'s first view of `url` makes after a warm-up."""
    cache.clear()
    assert warm_dashboards.apply().get() > 0
    client.force_login(user)
    with CaptureQueriesContext(connection) as first_view:
        assert client.get(url).status_code == 200
    return reads_of_records(first_view.captured_queries)


def test_a_warmed_dashboards_first_view_reads_no_records(client, manager, deals):
    assert (
        records_read_after_warming(client, manager, reverse("dashboard", args=["executive"])) == []
    )


def test_a_kpi_page_after_the_warm_up_reads_its_parts_from_the_cache(client, manager, deals):
    # A card of the whole company computes its whole without the parts by owner and team
    # (metrics.numbers.Reader._live_value); the warm-up computes them for the KPI pages, their
    # counts and a rep's own cards.
    read = records_read_after_warming(client, manager, reverse("kpi", args=["win_rate"]))
    assert [sql for sql in read if "GROUP BY" in sql] == []


def test_warming_again_does_nothing_until_records_change(rep, deals):
    cache.clear()
    assert warm_dashboards.apply().get() > 0
    assert warm_dashboards.apply().get() == 0

    lose(deals, rep)

    assert warm_dashboards.apply().get() > 0


def test_a_new_day_is_warmed_with_no_record_changed(monkeypatch, deals):
    cache.clear()
    assert warm_dashboards.apply().get() > 0
    # After midnight the same days compared with and the months over have new cache keys.
    monkeypatch.setattr(Reader, "closed_version", property(lambda _reader: "closed:tomorrow"))

    assert warm_dashboards.apply().get() > 0
    assert warm_dashboards.apply().get() == 0


def test_warmed_numbers_are_the_ones_the_page_computes(client, manager, deals):
    client.force_login(manager)
    cache.clear()
    computed = client.get(reverse("dashboard", args=["sales"])).context["cards"]
    cache.clear()
    warm_dashboards.apply()
    warmed = client.get(reverse("dashboard", args=["sales"])).context["cards"]
    assert [c.result for c in warmed] == [c.result for c in computed]


def test_charts_are_warmed_in_each_language_a_reader_chose(manager, rep):
    manager.language = "it"
    manager.save(update_fields=["language"])
    assert readers_languages() == ["en", "it"]


def counting(queries) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize("who", ["manager", "admin_user"])
@pytest.mark.parametrize("read", ["data-quality", "data-quality-card"])
def test_the_data_quality_page_is_warmed_for_each_reader(client, deals, who, read, request, rep):
    # Each manager's people and teams, and the admins' every record, once they read the page
    # or the dashboard's card: their next view after a change counts nothing.
    user = request.getfixturevalue(who)
    client.force_login(user)
    cache.clear()
    assert client.get(reverse(read)).status_code == 200
    lose(deals, rep)
    warm_dashboards.apply()

    with CaptureQueriesContext(connection) as next_view:
        response = client.get(reverse("data-quality"))
    assert response.status_code == 200
    assert counting(next_view.captured_queries) == []
    flagged = response.context["flawed_total"]
    cache.clear()
    assert client.get(reverse("data-quality")).context["flawed_total"] == flagged


def test_a_data_quality_scope_nobody_read_lately_is_not_tallied(client, manager, deals):
    from metrics import quality

    cache.clear()
    assert quality.warm(Reader()) == 0
    warm_dashboards.apply()

    client.force_login(manager)
    with CaptureQueriesContext(connection) as first_view:
        client.get(reverse("data-quality"))
    assert counting(first_view.captured_queries) != []
    assert quality.warm(Reader()) == 1


def test_a_rep_is_not_a_reader_of_the_data_quality_page(rep, agent):
    from metrics import quality

    assert quality.warm(Reader()) == 0
