"""Deal pages: the plain list, the deal page, and the create and edit forms."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm import services
from crm.access import get_deal_for_user, visible
from crm.custom_fields import definitions_for
from crm.forms.deals import SORTS, DealCreateForm, DealForm, DealListFilterForm, StageMoveForm
from crm.models import Deal, FieldType, RecordType, User
from crm.timeline import record_panels

DEALS_PER_PAGE = 50


@require_GET
def deal_list(request):
    filters = DealListFilterForm(request.GET or None, user=request.user)
    deals = (
        filters.filter(visible(Deal.objects.all(), request.user))
        .select_related("company", "owner", "stage", "pipeline")
        .order_by(*filters.ordering())
    )
    page = Paginator(deals, DEALS_PER_PAGE).get_page(request.GET.get("page"))
    sort = filters.sort_key()
    # Each sortable column toggles between its ascending and descending order.
    sort_links = {
        key: (f"-{key}" if sort == key else key) for key in SORTS if not key.startswith("-")
    }
    context = {
        "section": "deals",
        "filters": filters,
        "page": page,
        "sort": sort,
        "sort_links": sort_links,
    }
    return render(request, "crm/deals/list.html", context)


def _record_url(names: tuple[str, ...], pk) -> str:
    """The detail page of a linked record, once its section is built (else no link)."""
    for name in names:
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return ""


def _custom_values(deal: Deal) -> list[tuple[str, str]]:
    definitions = definitions_for(RecordType.DEAL)
    values = deal.custom or {}
    user_ids = [
        values[d.key] for d in definitions if d.field_type == FieldType.USER and d.key in values
    ]
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    shown = []
    for definition in definitions:
        value = values.get(definition.key)
        if value in (None, "", []):
            text = "—"
        elif definition.field_type == FieldType.USER:
            text = users.get(value, str(value))
        elif definition.field_type == FieldType.CHECKBOX:
            text = _("Yes") if value else _("No")
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value)
        else:
            text = str(value)
        shown.append((definition.label, text))
    return shown


def _stage_history(deal: Deal) -> list[dict]:
    """Each stage the deal went through, with how long it stayed there."""
    changes = list(
        deal.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by(
            "changed_at", "id"
        )
    )
    rows = []
    for index, change in enumerate(changes):
        following = changes[index + 1] if index + 1 < len(changes) else None
        seconds = following.seconds_in_from_stage if following else None
        rows.append(
            {
                "change": change,
                "seconds": seconds,
                "current": following is None,
            }
        )
    if rows:
        rows[-1]["seconds"] = max(int((timezone.now() - deal.stage_entered_at).total_seconds()), 0)
    for row in rows:
        row["duration"] = duration(row["seconds"]) if row["seconds"] is not None else ""
    return rows


def duration(seconds: int) -> str:
    """A short reading of a time span: "3 d 4 h", "2 h 5 min", "40 min"."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def render_deal_page(request, deal: Deal, *, move_form=None, status: int = 200):
    stages = list(deal.pipeline.stages.order_by("order"))
    current_order = deal.stage.order
    context = {
        "section": "deals",
        "deal": deal,
        "stages": stages,
        "current_order": current_order,
        "history": _stage_history(deal),
        "custom_values": _custom_values(deal),
        "company_url": _record_url(("company-detail", "company_detail", "company"), deal.company_id)
        if deal.company_id
        else "",
        "contact_url": _record_url(("contact-detail", "contact_detail", "contact"), deal.contact_id)
        if deal.contact_id
        else "",
        "move_form": move_form or StageMoveForm(deal=deal),
        "amount_in_currency": deal.amount * deal.exchange_rate,
        "can_change": request.user.has_perm("crm.change_deal"),
    }
    context.update(record_panels(request, deal))
    return render(request, "crm/deals/detail.html", context, status=status)


@require_GET
def deal_detail(request, pk: int):
    return render_deal_page(request, get_deal_for_user(request.user, pk))


def deal_create(request):
    form = DealCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deal = services.deal_create(
                actor=request.user,
                data=form.service_data(),
                pipeline=form.cleaned_data["pipeline"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Deal “%s” created.") % deal.name)
            return redirect("deal-detail", pk=deal.pk)
    status = 400 if form.is_bound else 200
    context = {"section": "deals", "form": form, "deal": None}
    return render(request, "crm/deals/form.html", context, status=status)


def deal_edit(request, pk: int):
    deal = get_deal_for_user(request.user, pk, write=True)
    form = DealForm(request.POST or None, instance=deal, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_update(deal, actor=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Deal “%s” saved.") % deal.name)
            return redirect("deal-detail", pk=deal.pk)
    status = 400 if form.is_bound else 200
    context = {"section": "deals", "form": form, "deal": deal}
    return render(request, "crm/deals/form.html", context, status=status)
