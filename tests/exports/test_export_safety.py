"""Formula injection, visibility and hostile input: an export runs nothing, shows only what
its user may see, and answers a bad query with a clear page, never a server error."""

import pytest
from django.urls import reverse

from crm.models import FieldType, RecordType
from exports.cells import csv_cell, safe_cell
from tests.crm.factories import CustomFieldFactory, DealFactory, LeadFactory
from tests.exports.helpers import body, column, export_url, read_rows

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "xlsx")
# The six starts a spreadsheet reads as a formula: = + - @ tab and carriage return.
PAYLOADS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", "\tTAB=1", "\rCR=1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_cell_function_escapes_each_formula_start(payload):
    assert csv_cell(payload) == "'" + payload
    assert safe_cell(payload) == "'" + payload


def test_numbers_stay_numbers_and_plain_text_is_untouched():
    assert safe_cell(-5) == -5
    assert csv_cell(-5) == "-5"
    assert csv_cell("Acme") == "Acme"
    assert csv_cell(None) == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_formula_start_is_escaped_in_list_exports(client, rep, sales_team, fmt):
    CustomFieldFactory(record_type=RecordType.LEAD, key="note", label="Note")
    for index, payload in enumerate(PAYLOADS):
        LeadFactory(
            name=payload,
            company_name=f"Company {index}",
            owner=rep,
            team=sales_team,
            custom={"note": payload},
        )
    rep.preferences = {"columns": {"leads": ["name", "company_name", "custom__note"]}}
    rep.save()
    client.force_login(rep)

    rows = read_rows(client.get(export_url("leads", "sort=company_name", fmt)), fmt)

    expected = ["'" + payload for payload in PAYLOADS]
    if fmt == "xlsx":
        # XML reads a carriage return back as a line feed; the apostrophe is what counts.
        expected = [text.replace("\r", "\n") for text in expected]
    assert column(rows, "Name") == expected
    assert column(rows, "Note") == expected


def test_no_xlsx_cell_is_a_formula(client, rep, sales_team):
    LeadFactory(name='=HYPERLINK("http://evil","x")', owner=rep, team=sales_team)
    client.force_login(rep)

    response = client.get(export_url("leads", "", "xlsx"))

    assert b"<f>" not in _sheet_xml(body(response))


def _sheet_xml(data: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(
            archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_rep_exports_only_the_records_they_see(
    client, rep, sales_team, outsider, other_team, fmt
):
    DealFactory(name="Ours", owner=rep, team=sales_team)
    DealFactory(name="Theirs", owner=outsider, team=other_team)
    client.force_login(rep)

    rows = read_rows(client.get(export_url("deals", "", fmt)), fmt)

    assert column(rows, "Name") == ["Ours"]


def test_a_rep_cannot_widen_an_export_with_another_team_s_owner(
    client, rep, sales_team, outsider, other_team
):
    DealFactory(name="Theirs", owner=outsider, team=other_team)
    client.force_login(rep)

    response = client.get(export_url("deals", f"owner={outsider.pk}", "csv"))

    # Not a choice for the rep: the filter refuses it, nothing is exported.
    assert response.status_code == 400
    assert b"Theirs" not in response.content


def test_whole_type_export_is_for_admins(client, rep, admin_user, sales_team):
    CustomFieldFactory(
        record_type=RecordType.DEAL, key="region", label="Region", field_type=FieldType.TEXT
    )
    DealFactory(name="Ours", owner=rep, team=sales_team, custom={"region": "=North"})
    url = reverse("export-type", args=["deal"]) + "?format=csv"

    client.force_login(rep)
    assert client.get(url).status_code == 403

    client.force_login(admin_user)
    rows = read_rows(client.get(url), "csv")
    assert {"name", "owner", "stage", "amount", "region"} <= set(rows[0])
    assert column(rows, "owner") == [rep.username]
    assert column(rows, "region") == ["'=North"]


def test_the_settings_page_offers_every_whole_type(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("settings")).content.decode()

    for record_type in ("company", "contact", "lead", "deal", "task", "ticket", "expense"):
        assert reverse("export-type", args=[record_type]) + "?format=csv" in page


HOSTILE = [
    "format=pdf",
    "format=",
    "sort=%00%27;DROP",
    "sort=-" + "x" * 3000,
    "owner=abc",
    "owner=99999999999999999999999",
    "team=-1",
    "stage=1&stage=99999999999999999999999999",
    "amount_min=1e999&amount_max=NaN",
    "created_after=2026-13-45",
    "expected_close_after=%ff%fe",
    "custom__nope=1",
    "q=" + "%" * 200,
    "status=%00",
    "quiet=abc",
    "page=-1",
    "view=%3Cscript%3E",
    "priority=%27",
    "assignee=%00",
    "company=abc",
    "category=abc",
    "closed=%00&period=%00",
]


@pytest.mark.parametrize(
    "source",
    [
        "leads",
        "contacts",
        "companies",
        "deals",
        "tasks",
        "tickets",
        "knowledge",
        "goals",
        "automation-runs",
    ],
)
def test_hostile_query_strings_never_give_a_server_error(
    client, admin_user, rep, sales_team, source
):
    DealFactory(owner=rep, team=sales_team)
    client.force_login(admin_user)
    for query in HOSTILE:
        url = f"{reverse('export-list', args=[source])}?{query}"
        response = client.get(url)
        body(response)  # a streamed error would only show while reading
        assert response.status_code in (200, 400), (url, response.status_code)


def test_an_unknown_list_or_type_is_not_found(client, admin_user):
    client.force_login(admin_user)

    assert client.get(reverse("export-list", args=["users"])).status_code == 404
    assert client.get(reverse("export-type", args=["user"])).status_code == 404


def test_kpi_drill_down_exports_the_same_rows_as_xlsx(client, manager, rep, sales_team):
    DealFactory(name="=Open one", owner=rep, team=sales_team)
    client.force_login(manager)
    base = reverse("kpi-export", args=["pipeline_value"])

    csv_rows = read_rows(client.get(base), "csv")
    xlsx_rows = read_rows(client.get(base + "?format=xlsx"), "xlsx")

    assert xlsx_rows[0] == csv_rows[0]
    assert column(xlsx_rows, "Deal") == column(csv_rows, "Deal") == ["'=Open one"]
