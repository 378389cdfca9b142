from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Company, Contact, Deal, Lead, LeadStatus, Pipeline, Task, User

from .deals import deal_create
from .dedupe import company_once, contact_once
from .errors import InvalidTransition
from .events import event_record
from .records import record_create

# Addresses at these domains say nothing about the company a lead works for.
FREE_MAIL_DOMAINS = {
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "mail.com",
}
FOLLOW_UP_AFTER = timedelta(days=2)


@dataclass
class Conversion:
    lead: Lead
    contact: Contact
    company: Company | None
    deal: Deal | None
    task: Task | None
    created_contact: bool
    created_company: bool


def lead_qualify(*, lead: Lead, actor: User | None) -> Lead:
    return _set_status(lead, LeadStatus.QUALIFIED, actor, event="lead.qualified")


def lead_disqualify(*, lead: Lead, actor: User | None, reason: str) -> Lead:
    if not reason.strip():
        raise InvalidTransition({"disqualified_reason": _("Say why the lead is not qualified.")})
    return _set_status(
        lead, LeadStatus.UNQUALIFIED, actor, event="lead.disqualified", reason=reason
    )


def _set_status(lead: Lead, status: str, actor, *, event: str, reason: str = "") -> Lead:
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == LeadStatus.CONVERTED:
            raise InvalidTransition(_("This lead is already converted."))
        if lead.status == status:
            raise InvalidTransition(
                _("This lead is already %s.") % lead.get_status_display().lower()
            )
        changes = {"status": [lead.status, status]}
        lead.status = status
        if status == LeadStatus.QUALIFIED and lead.qualified_at is None:
            lead.qualified_at = timezone.now()
            changes["qualified_at"] = [None, lead.qualified_at]
        lead.disqualified_reason = reason.strip()
        lead.save(update_fields=["status", "qualified_at", "disqualified_reason", "updated_at"])
        event_record(type=event, instance=lead, actor=actor, changes=changes)
    return lead


def conversion_matches(
    lead: Lead, *, contacts: QuerySet | None = None, companies: QuerySet | None = None
) -> tuple[Contact | None, Company | None]:
    """Records the lead would duplicate: a contact by email (and its company), a company by
    domain or name. `contacts` and `companies` narrow the search, to the rows a user may see:
    a match hidden from them must not hide another one they can link."""
    narrowed = companies is not None
    contacts = Contact.objects.all() if contacts is None else contacts
    companies = Company.objects.all() if companies is None else companies
    contact = None
    if lead.email:
        contact = contacts.filter(email__iexact=lead.email).select_related("company").first()
    if contact and contact.company_id:
        if not narrowed or companies.filter(pk=contact.company_id).exists():
            return contact, contact.company
    return contact, _matching_company(lead, companies)


def _matching_company(lead: Lead, companies: QuerySet) -> Company | None:
    domain = lead.email.rpartition("@")[2].lower() if lead.email else ""
    if domain and domain not in FREE_MAIL_DOMAINS:
        company = companies.filter(domain=domain).first()
        if company:
            return company
    if lead.company_name:
        return companies.filter(name__iexact=lead.company_name.strip()).first()
    return None


def lead_convert(
    *,
    lead: Lead,
    actor: User | None,
    contact: Contact | None = None,
    company: Company | None = None,
    use_matches: bool = True,
    new_contact: bool = False,
    new_company: bool = False,
    create_deal: bool = True,
    deal_name: str = "",
    amount: Decimal = Decimal("0"),
    pipeline: Pipeline | None = None,
) -> Conversion:
    """Turn a lead into a contact, a company and a deal, reusing records that already exist.

    `new_contact` / `new_company`: the user chose a new record over the one that matches.
    Otherwise a contact or company this creates is claimed (see `dedupe`), so two leads with
    the same email converted at once make one of each: with `use_matches` the second links
    the first one's; without (the user was shown no match) it is refused and writes nothing.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status in (LeadStatus.CONVERTED, LeadStatus.UNQUALIFIED):
            raise InvalidTransition(
                _("A lead that is %s cannot be converted.") % lead.get_status_display().lower()
            )
        if use_matches:
            matched_contact, matched_company = conversion_matches(lead)
            contact = contact or (None if new_contact else matched_contact)
            company = company or (None if new_company else matched_company)
        owner = lead.owner or actor
        created_company = False
        if company is None and lead.company_name:
            company, created_company = _new_company(
                lead, actor, owner, duplicate=new_company, link=use_matches
            )
        created_contact = False
        if contact is None:
            contact, created_contact = _new_contact(
                lead, actor, owner, company, duplicate=new_contact, link=use_matches
            )
        deal = task = None
        if create_deal:
            deal = deal_create(
                actor=actor,
                pipeline=pipeline,
                data={
                    "name": deal_name or _("%s deal") % (company or contact),
                    "company": company,
                    "contact": contact,
                    "amount": amount,
                    "owner": owner,
                    "source_lead": lead,
                },
            )
            task = record_create(
                Task,
                actor=actor,
                data={
                    "title": _("Follow up on %s") % deal.name,
                    "due_at": timezone.now() + FOLLOW_UP_AFTER,
                    "assignee": owner,
                    "deal": deal,
                    "created_by": actor,
                },
            )
        _mark_converted(lead, actor, contact, company, deal)
    return Conversion(lead, contact, company, deal, task, created_contact, created_company)


def _mark_converted(lead: Lead, actor, contact, company, deal) -> None:
    now = timezone.now()
    changes = {"status": [lead.status, LeadStatus.CONVERTED], "converted_at": [None, now]}
    if lead.qualified_at is None:
        # Converting a lead qualifies it: the qualification KPI counts it.
        lead.qualified_at = now
        changes["qualified_at"] = [None, now]
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = now
    lead.converted_contact = contact
    lead.converted_company = company
    lead.converted_deal = deal
    lead.save()
    changes.update(
        converted_contact=[None, contact.pk],
        converted_company=[None, company.pk if company else None],
        converted_deal=[None, deal.pk if deal else None],
    )
    event_record(type="lead.converted", instance=lead, actor=actor, changes=changes)


def _new_company(lead: Lead, actor, owner, *, duplicate: bool, link: bool):
    data = _company_data(lead, owner)

    def create():
        return record_create(Company, actor=actor, data=data)

    if duplicate:
        return create(), True
    company, created = company_once(domain=data["domain"], name=data["name"], create=create)
    if created or link:
        return company, created
    if conversion_matches(lead)[1] is None:
        return create(), True  # the matches shown to the user cannot offer it: a new one
    # Someone converted a lead like this one since the page was shown: let the user choose.
    raise InvalidTransition(
        _(
            "A company with this name or domain was created a moment ago. "
            "Convert again to choose whether to link it."
        )
    )


def _new_contact(lead: Lead, actor, owner, company, *, duplicate: bool, link: bool):
    def create():
        return record_create(Contact, actor=actor, data=_contact_data(lead, owner, company))

    if duplicate:
        return create(), True
    contact, created = contact_once(email=lead.email, create=create)
    if created or link:
        return contact, created
    if conversion_matches(lead)[0] is None:
        return create(), True  # the matches shown to the user cannot offer it: a new one
    # Someone converted a lead like this one since the page was shown: let the user choose.
    raise InvalidTransition(
        _(
            "A contact with this email was created a moment ago. "
            "Convert again to choose whether to link it."
        )
    )


def _company_data(lead: Lead, owner) -> dict:
    domain = lead.email.rpartition("@")[2].lower() if lead.email else ""
    return {
        "name": lead.company_name.strip(),
        "domain": "" if domain in FREE_MAIL_DOMAINS else domain,
        "owner": owner,
    }


def _contact_data(lead: Lead, owner, company) -> dict:
    first, _sep, last = lead.name.strip().rpartition(" ")
    return {
        "first_name": first,
        "last_name": last or lead.name.strip(),
        "email": lead.email,
        "phone": lead.phone,
        "company": company,
        "owner": owner,
    }
