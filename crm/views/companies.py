"""Company pages: list with filters and search, create/edit, and the detail page gathering
the company's contacts, deals, tickets, subscriptions and tasks."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import access, lists, services
from crm.choices import choice_label
from crm.custom_fields import definitions_for
from crm.filters import CompanyFilter
from crm.forms.companies import CompanyForm
from crm.forms.contacts import OwnerBulkForm
from crm.models import Company, Contact
from crm.redirects import next_url, redirect_to
from crm.timeline import record_panels
from crm.views.duplicates import create_warning

from .contacts import (
    RELATED_LIMIT,
    bulk_assign_owner,
    related_answers,
    related_deals,
    related_tickets,
)

COMPANIES = lists.ListPage(
    name="companies",
    record_type="company",
    filterset_class=CompanyFilter,
    columns=[
        lists.Column("name", gettext_lazy("Name"), lambda r: r.name, "name", link=True),
        lists.Column("domain", gettext_lazy("Domain"), lambda r: r.domain, "domain"),
        lists.Column(
            "industry", gettext_lazy("Industry"), lambda r: choice_label(r, "industry"), "industry"
        ),
        lists.Column(
            "size_band", gettext_lazy("Size"), lambda r: choice_label(r, "size_band"), "size_band"
        ),
        lists.Column(
            "lifecycle",
            gettext_lazy("Lifecycle"),
            lambda r: choice_label(r, "lifecycle"),
            "lifecycle",
        ),
        lists.Column(
            "customer_since",
            gettext_lazy("Customer since"),
            lambda r: r.customer_since,
            "customer_since",
            sort_splits_empty=True,
        ),
        lists.related_row_column("owner", gettext_lazy("Owner"), "owner__first_name"),
        lists.related_row_column("team", gettext_lazy("Team"), "team__name"),
        lists.Column("created_at", gettext_lazy("Created"), lambda r: r.created_at, "created_at"),
    ],
    default_columns=["name", "domain", "industry", "lifecycle", "owner"],
    detail_url="company-detail",
    default_sort="name",
    select_related=("owner", "team"),
)


def company_list(request):
    context = lists.list_context(request, COMPANIES, access.visible(Company, request.user))
    context.update(
        section="companies",
        bulk_form=lists.bootstrap(
            OwnerBulkForm(user=request.user, initial={"next": request.get_full_path()})
        )
        if access.may_post(request.user, "company-bulk")
        else None,
        can_add=request.user.has_perm("crm.add_company"),
    )
    return render(request, "crm/companies/list.html", context)


@require_POST
def company_columns(request):
    target = next_url(request, reverse("companies"))
    lists.save_columns(request.user, COMPANIES, request.POST.getlist("columns"))
    return redirect_to(target)


@require_POST
def company_bulk(request):
    return bulk_assign_owner(request, Company, "companies")


def company_create(request):
    if not request.user.has_perm("crm.add_company"):
        raise PermissionDenied
    form = CompanyForm(request.POST or None, user=request.user, initial={"owner": request.user})
    warning = {}
    if request.method == "POST" and form.is_valid():
        warning = create_warning(request, form, Company)
    if request.method == "POST" and form.is_valid() and not warning:
        try:
            company = services.record_create(Company, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Company “%(name)s” created.") % {"name": company})
            return redirect("company-detail", company.pk)
    return _form_page(request, form, company=None, warning=warning)


def company_edit(request, pk):
    company = access.get_company_for_user(request.user, pk, write=True)
    title = str(company)
    form = CompanyForm(request.POST or None, instance=company, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_update(company, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Company saved."))
            return redirect("company-detail", company.pk)
    return _form_page(request, form, company=company, title=title)


def _form_page(request, form, *, company, title="", warning=None):
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "form": lists.bootstrap(form),
        "company": company,
        "title": title,
        "section": "companies",
    }
    context.update(warning or {})
    return render(request, "crm/companies/form.html", context, status=status)


def company_detail(request, pk):
    company = access.get_company_for_user(request.user, pk)
    user = request.user
    contacts = (
        access.visible(Contact, user)
        .filter(company=company)
        .select_related("owner")
        .order_by("last_name", "first_name")[:RELATED_LIMIT]
    )
    context = {
        "company": company,
        "section": "companies",
        "custom_values": lists.custom_values(company, definitions_for("company")),
        "can_change": access.can_change(user, company),
        "can_merge": access.can_change(user, company) and access.may_post(user, "company-merge"),
        "contacts": list(contacts),
        "deals": related_deals(user, company=company),
        "tickets": related_tickets(user, company=company),
        "subscriptions": list(company.subscriptions.order_by("-start_date")[:RELATED_LIMIT]),
        "answers": related_answers(company=company),
        "now": timezone.now(),
        **record_panels(request, company),
    }
    return render(request, "crm/companies/detail.html", context)
