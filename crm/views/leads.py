"""Lead pages: list (filters, columns, bulk actions), create/edit, detail, qualify,
disqualify and convert. Records are fetched through `crm.access`, written through
`crm.services`."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from crm import access, lists, services
from crm.choices import choice_label
from crm.custom_fields import definitions_for
from crm.filters import LeadFilter
from crm.forms.leads import DisqualifyForm, LeadBulkForm, LeadConvertForm, LeadForm
from crm.models import Company, Contact, Deal, Lead, LeadStatus
from crm.redirects import next_url, redirect_to
from crm.timeline import record_panels
from crm.views.duplicates import create_warning

LEADS = lists.ListPage(
    name="leads",
    record_type="lead",
    filterset_class=LeadFilter,
    columns=[
        lists.Column("name", gettext_lazy("Name"), lambda r: r.name, "name", link=True),
        lists.Column(
            "company_name", gettext_lazy("Company"), lambda r: r.company_name, "company_name"
        ),
        lists.Column("email", gettext_lazy("Email"), lambda r: r.email, "email"),
        lists.Column("phone", gettext_lazy("Phone"), lambda r: r.phone, "phone"),
        lists.Column(
            "status", gettext_lazy("Status"), lambda r: choice_label(r, "status"), "status"
        ),
        lists.Column(
            "source", gettext_lazy("Source"), lambda r: choice_label(r, "source"), "source"
        ),
        lists.Column("score", gettext_lazy("Score"), lambda r: r.score, "score"),
        lists.related_row_column("owner", gettext_lazy("Owner"), "owner__first_name"),
        lists.related_row_column("team", gettext_lazy("Team"), "team__name"),
        lists.Column("created_at", gettext_lazy("Created"), lambda r: r.created_at, "created_at"),
    ],
    default_columns=["name", "company_name", "status", "source", "score", "owner", "created_at"],
    detail_url="lead-detail",
    default_sort="-created_at",
    select_related=("owner", "team"),
)


def lead_list(request):
    context = lists.list_context(request, LEADS, access.visible(Lead, request.user))
    context.update(
        section="leads",
        bulk_form=lists.bootstrap(
            LeadBulkForm(user=request.user, initial={"next": request.get_full_path()})
        )
        if access.may_post(request.user, "lead-bulk")
        else None,
        can_add=request.user.has_perm("crm.add_lead"),
    )
    return render(request, "crm/leads/list.html", context)


@require_POST
def lead_columns(request):
    target = next_url(request, reverse("leads"))
    lists.save_columns(request.user, LEADS, request.POST.getlist("columns"))
    return redirect_to(target)


@require_POST
def lead_bulk(request):
    form = LeadBulkForm(request.POST, user=request.user)
    target = next_url(request, reverse("leads"))
    if not form.is_valid():
        for message in lists.error_messages(form):
            messages.error(request, message)
        return redirect_to(target)
    leads = lists.bulk_targets(request.user, Lead.objects.all(), form.cleaned_data["ids"])
    done, refused = 0, []
    with transaction.atomic():
        for lead in leads:
            try:
                _apply_bulk(lead, form.cleaned_data, request.user)
            except ValidationError as error:
                refused.append(f"{lead}: {' '.join(error.messages)}")
            else:
                done += 1
    if done:
        messages.success(
            request,
            ngettext("%(count)d lead updated.", "%(count)d leads updated.", done) % {"count": done},
        )
    for message in refused[:10]:
        messages.warning(request, message)
    if not leads:
        messages.warning(request, _("None of the ticked leads can be changed."))
    return redirect_to(target)


def _apply_bulk(lead: Lead, data: dict, actor) -> None:
    # One savepoint per lead: a refused lead leaves the others done.
    with transaction.atomic():
        if data["action"] == LeadBulkForm.ASSIGN:
            services.record_update(lead, actor=actor, data={"owner": data["owner"]})
        elif data["status"] == LeadStatus.QUALIFIED:
            services.lead_qualify(lead=lead, actor=actor)
        else:
            services.lead_disqualify(lead=lead, actor=actor, reason=data["reason"])


def lead_create(request):
    if not request.user.has_perm("crm.add_lead"):
        raise PermissionDenied
    form = LeadForm(request.POST or None, user=request.user, initial={"owner": request.user})
    warning = {}
    if request.method == "POST" and form.is_valid():
        warning = create_warning(request, form, Lead)
    if request.method == "POST" and form.is_valid() and not warning:
        try:
            lead = services.record_create(Lead, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Lead “%(name)s” created.") % {"name": lead})
            known = _same_email_contact(request.user, lead)
            if known is not None:
                messages.warning(
                    request,
                    _("A contact with this email exists: %(contact)s.") % {"contact": known},
                )
            return redirect("lead-detail", lead.pk)
    return _form_page(request, form, lead=None, warning=warning)


def lead_edit(request, pk):
    lead = access.get_lead_for_user(request.user, pk, write=True)
    title = str(lead)
    form = LeadForm(request.POST or None, instance=lead, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_update(lead, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("lead-detail", lead.pk)
    return _form_page(request, form, lead=lead, title=title)


def _form_page(request, form, *, lead, title="", warning=None):
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": lists.bootstrap(form), "lead": lead, "title": title, "section": "leads"}
    context.update(warning or {})
    return render(request, "crm/leads/form.html", context, status=status)


def lead_detail(request, pk, *, disqualify_form=None, status=200):
    lead = access.get_lead_for_user(request.user, pk)
    context = {
        "lead": lead,
        "section": "leads",
        "custom_values": lists.custom_values(lead, definitions_for("lead")),
        "disqualify_form": lists.bootstrap(disqualify_form or DisqualifyForm()),
        "can_change": access.can_change(request.user, lead),
        "can_merge": access.may_post(request.user, "lead-merge")
        and access.can_change(request.user, lead),
        "can_convert": lead.status not in (LeadStatus.CONVERTED, LeadStatus.UNQUALIFIED),
        "converted": _converted_links(request.user, lead),
        "same_email_contact": _same_email_contact(request.user, lead)
        if lead.status != LeadStatus.CONVERTED
        else None,
        **record_panels(request, lead),
    }
    return render(request, "crm/leads/detail.html", context, status=status)


def _same_email_contact(user, lead: Lead) -> Contact | None:
    """A contact the user may see with the lead's email (as the conversion matches it)."""
    if not lead.email:
        return None
    contacts = access.visible(Contact, user).filter(email__iexact=lead.email)
    return contacts.first()


def _converted_links(user, lead: Lead) -> dict:
    if lead.status != LeadStatus.CONVERTED:
        return {}
    links = {}
    if lead.converted_contact_id:
        contact = access.visible(Contact, user).filter(pk=lead.converted_contact_id).first()
        if contact:
            links["contact"] = contact
    if lead.converted_company_id:
        company = access.visible(Company, user).filter(pk=lead.converted_company_id).first()
        if company:
            links["company"] = company
    if lead.converted_deal_id:
        try:
            links["deal_url"] = reverse("deal-detail", args=[lead.converted_deal_id])
        except NoReverseMatch:
            links["deal_url"] = ""
    return links


@require_POST
def lead_qualify(request, pk):
    lead = access.get_lead_for_user(request.user, pk, write=True)
    try:
        services.lead_qualify(lead=lead, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Lead qualified."))
    return redirect("lead-detail", lead.pk)


@require_POST
def lead_disqualify(request, pk):
    lead = access.get_lead_for_user(request.user, pk, write=True)
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        return lead_detail(request, pk, disqualify_form=form, status=400)
    try:
        services.lead_disqualify(lead=lead, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Lead disqualified."))
    return redirect("lead-detail", lead.pk)


def lead_convert(request, pk):
    lead = access.get_lead_for_user(request.user, pk, write=True)
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.UNQUALIFIED):
        messages.error(
            request,
            _("A lead that is %s cannot be converted.") % lead.get_status_display().lower(),
        )
        return redirect("lead-detail", lead.pk)
    contact_match, company_match, hidden = _visible_matches(request.user, lead)
    form = LeadConvertForm(
        # Bound on any post: one with every box unticked is still a choice.
        request.POST if request.method == "POST" else None,
        lead=lead,
        contact_match=contact_match,
        company_match=company_match,
        hidden_matches=hidden,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.lead_convert(
                    lead=lead, actor=request.user, **form.conversion_kwargs()
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _conversion_message(result))
                return redirect(_after_conversion(request.user, result))
        status = 400
    context = {
        "lead": lead,
        "form": lists.bootstrap(form),
        "contact_match": contact_match,
        "company_match": company_match,
        "section": "leads",
    }
    return render(request, "crm/leads/convert.html", context, status=status)


def _after_conversion(user, result) -> str:
    """Where the work goes on: the new deal, else the contact (if the user may open them)."""
    if result.deal and access.visible(Deal, user).filter(pk=result.deal.pk).exists():
        return reverse("deal-detail", args=[result.deal.pk])
    if access.visible(Contact, user).filter(pk=result.contact.pk).exists():
        return reverse("contact-detail", args=[result.contact.pk])
    return reverse("lead-detail", args=[result.lead.pk])


def _visible_matches(user, lead: Lead):
    """The contact and company the lead would duplicate, if the user may see them, and the
    names of those that exist but are hidden from the user."""
    contact, company = services.conversion_matches(
        lead, contacts=access.visible(Contact, user), companies=access.visible(Company, user)
    )
    hidden = set()
    if contact is None or company is None:
        anyone_contact, anyone_company = services.conversion_matches(lead)
        if contact is None and anyone_contact is not None:
            hidden.add("contact")
        if company is None and anyone_company is not None:
            hidden.add("company")
    return contact, company, frozenset(hidden)


def _conversion_message(result) -> str:
    parts = [
        (_("new contact %s") if result.created_contact else _("linked contact %s")) % result.contact
    ]
    if result.company:
        parts.append(
            (_("new company %s") if result.created_company else _("linked company %s"))
            % result.company
        )
    if result.deal:
        parts.append(_("deal %s") % result.deal)
    return _("Lead converted: %s.") % ", ".join(parts)
