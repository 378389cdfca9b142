"""Contact pages: list with filters and search, create/edit, and the detail page gathering
the contact's deals, tickets and tasks."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from crm import access, lists, services
from crm.choices import choice_label
from crm.custom_fields import definitions_for
from crm.filters import ContactFilter
from crm.forms.contacts import ContactForm, OwnerBulkForm
from crm.models import Company, Contact, Deal, SurveyAnswer, Ticket
from crm.redirects import next_url, redirect_to
from crm.timeline import record_panels
from crm.views.duplicates import create_warning

# Related records shown on a detail page, newest first; the full lists live on their pages.
RELATED_LIMIT = 50

CONTACTS = lists.ListPage(
    name="contacts",
    record_type="contact",
    filterset_class=ContactFilter,
    columns=[
        lists.Column("name", gettext_lazy("Name"), lambda r: r.name, "last_name", link=True),
        lists.company_column(),
        lists.Column("title", gettext_lazy("Job title"), lambda r: r.title, "title"),
        lists.Column("email", gettext_lazy("Email"), lambda r: r.email, "email"),
        lists.Column("phone", gettext_lazy("Phone"), lambda r: r.phone, "phone"),
        lists.Column(
            "lifecycle_stage",
            gettext_lazy("Lifecycle stage"),
            lambda r: choice_label(r, "lifecycle_stage"),
            "lifecycle_stage",
        ),
        lists.related_row_column("owner", gettext_lazy("Owner"), "owner__first_name"),
        lists.related_row_column("team", gettext_lazy("Team"), "team__name"),
        lists.Column("created_at", gettext_lazy("Created"), lambda r: r.created_at, "created_at"),
    ],
    default_columns=["name", "company", "email", "phone", "lifecycle_stage", "owner"],
    detail_url="contact-detail",
    default_sort="last_name",
    select_related=("owner", "team", "company"),
)


def contact_list(request):
    context = lists.list_context(request, CONTACTS, access.visible(Contact, request.user))
    context.update(
        section="contacts",
        bulk_form=lists.bootstrap(
            OwnerBulkForm(user=request.user, initial={"next": request.get_full_path()})
        )
        if access.may_post(request.user, "contact-bulk")
        else None,
        can_add=request.user.has_perm("crm.add_contact"),
    )
    return render(request, "crm/contacts/list.html", context)


@require_POST
def contact_columns(request):
    target = next_url(request, reverse("contacts"))
    lists.save_columns(request.user, CONTACTS, request.POST.getlist("columns"))
    return redirect_to(target)


@require_POST
def contact_bulk(request):
    return bulk_assign_owner(request, Contact, "contacts")


def bulk_assign_owner(request, model, list_url: str):
    """Give the ticked records (those the user may change) a new owner."""
    form = OwnerBulkForm(request.POST, user=request.user)
    target = next_url(request, reverse(list_url))
    if not form.is_valid():
        for message in lists.error_messages(form):
            messages.error(request, message)
        return redirect_to(target)
    records = lists.bulk_targets(request.user, model.objects.all(), form.cleaned_data["ids"])
    owner = form.cleaned_data["owner"]
    with transaction.atomic():
        for record in records:
            services.record_update(record, actor=request.user, data={"owner": owner})
    if records:
        messages.success(
            request,
            ngettext("%(count)d record updated.", "%(count)d records updated.", len(records))
            % {"count": len(records)},
        )
    else:
        messages.warning(request, _("None of the ticked records can be changed."))
    return redirect_to(target)


def contact_create(request):
    if not request.user.has_perm("crm.add_contact"):
        raise PermissionDenied
    initial = {"owner": request.user}
    company_id = request.GET.get("company", "")
    if company_id.isdigit():
        initial["company"] = company_id
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    warning = {}
    if request.method == "POST" and form.is_valid():
        warning = create_warning(request, form, Contact)
    if request.method == "POST" and form.is_valid() and not warning:
        try:
            contact = services.record_create(Contact, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Contact “%(name)s” created.") % {"name": contact})
            return redirect("contact-detail", contact.pk)
    return _form_page(request, form, contact=None, warning=warning)


def contact_edit(request, pk):
    contact = access.get_contact_for_user(request.user, pk, write=True)
    title = str(contact)
    form = ContactForm(request.POST or None, instance=contact, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_update(contact, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("contact-detail", contact.pk)
    return _form_page(request, form, contact=contact, title=title)


def _form_page(request, form, *, contact, title="", warning=None):
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "form": lists.bootstrap(form),
        "contact": contact,
        "title": title,
        "section": "contacts",
    }
    context.update(warning or {})
    return render(request, "crm/contacts/form.html", context, status=status)


def contact_detail(request, pk):
    contact = access.get_contact_for_user(request.user, pk)
    user = request.user
    # The company link only when the user may open it (it can belong to another team).
    company = None
    if contact.company_id:
        company = access.visible(Company, user).filter(pk=contact.company_id).first()
    context = {
        "contact": contact,
        "company": company,
        "section": "contacts",
        "custom_values": lists.custom_values(contact, definitions_for("contact")),
        "can_change": access.can_change(user, contact),
        "can_merge": access.can_change(user, contact) and access.may_post(user, "contact-merge"),
        "deals": related_deals(user, contact=contact),
        "tickets": related_tickets(user, contact=contact),
        "answers": related_answers(contact=contact),
        "now": timezone.now(),
        **record_panels(request, contact),
    }
    return render(request, "crm/contacts/detail.html", context)


def related_deals(user, **lookup):
    queryset = access.visible(Deal, user).filter(**lookup)
    return list(
        queryset.select_related("stage", "owner", "contact", "company").order_by(
            "status", "-created_at"
        )[:RELATED_LIMIT]
    )


def related_tickets(user, **lookup):
    queryset = access.visible(Ticket, user).filter(**lookup)
    return list(queryset.select_related("assignee").order_by("-created_at")[:RELATED_LIMIT])


def related_answers(**lookup):
    """Survey answers given by a contact or about a company (the record is already visible;
    its tasks are in the record panels)."""
    queryset = SurveyAnswer.objects.filter(**lookup).select_related("contact")
    return list(queryset.order_by("-answered_at")[:RELATED_LIMIT])
