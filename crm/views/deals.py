"""Deal pages: the list (filters, columns, bulk actions), the deal page, and the create and
edit forms. Records are fetched through `crm.access`, written through `crm.services`."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import lists, services
from crm.access import get_deal_for_user, may_post, visible
from crm.choices import choice_label
from crm.custom_fields import definitions_for, missing_required
from crm.filters import DealFilter
from crm.forms.deals import DealBulkForm, DealCreateForm, DealForm, StageMoveForm
from crm.models import Deal, FieldType, Pipeline, RecordType, User
from crm.money import format_money
from crm.redirects import next_url, redirect_to
from crm.timeline import record_panels

# Refused deals named in the bulk message; the rest are counted.
REFUSALS_SHOWN = 10


def _amount(deal: Deal) -> str:
    return format_money(deal.amount, deal.currency)


DEALS = lists.ListPage(
    name="deals",
    record_type=RecordType.DEAL,
    filterset_class=DealFilter,
    columns=[
        lists.Column("name", gettext_lazy("Name"), lambda r: r.name, "name", link=True),
        lists.company_column(),
        lists.related_row_column(
            "stage", gettext_lazy("Stage"), "stage__order", lambda r: r.stage.name
        ),
        lists.Column(
            "status", gettext_lazy("Status"), lambda r: choice_label(r, "status"), "status"
        ),
        lists.Column("amount", gettext_lazy("Amount"), _amount, "amount"),
        lists.Column(
            "expected_close_date",
            gettext_lazy("Expected close"),
            lambda r: r.expected_close_date,
            "expected_close_date",
        ),
        lists.related_row_column("owner", gettext_lazy("Owner"), "owner__first_name"),
        lists.Column("kind", gettext_lazy("Kind"), lambda r: choice_label(r, "kind"), "kind"),
        lists.Column("created_at", gettext_lazy("Created"), lambda r: r.created_at, "created_at"),
    ],
    default_columns=[
        "name",
        "company",
        "stage",
        "status",
        "amount",
        "expected_close_date",
        "owner",
        "created_at",
    ],
    detail_url="deal-detail",
    default_sort="-created_at",
    select_related=("company", "owner", "stage"),
    per_page=50,
)


@require_GET
def deal_list(request):
    context = lists.list_context(request, DEALS, visible(Deal, request.user))
    context.update(
        section="deals",
        bulk_form=lists.bootstrap(
            DealBulkForm(user=request.user, initial={"next": request.get_full_path()})
        )
        if may_post(request.user, "deal-bulk")
        else None,
        can_add=request.user.has_perm("crm.add_deal"),
    )
    return render(request, "crm/deals/list.html", context)


@require_POST
def deal_columns(request):
    target = next_url(request, reverse("deals"))
    lists.save_columns(request.user, DEALS, request.POST.getlist("columns"))
    return redirect_to(target)


@require_POST
def deal_bulk(request):
    form = DealBulkForm(request.POST, user=request.user)
    target = next_url(request, reverse("deals"))
    if not form.is_valid():
        for message in lists.error_messages(form):
            messages.error(request, message)
        return redirect_to(target)
    deals = lists.bulk_targets(request.user, Deal.objects.all(), form.cleaned_data["ids"])
    done, refused = 0, []
    with transaction.atomic():
        for deal in deals:
            try:
                _apply_bulk(deal, form.cleaned_data, request.user)
            except ValidationError as error:
                refused.append(f"{deal}: {' '.join(error.messages)}")
            else:
                done += 1
    if done:
        messages.success(
            request,
            ngettext("%(count)d deal updated.", "%(count)d deals updated.", done) % {"count": done},
        )
    if refused:
        messages.warning(request, _refusal_message(refused))
    if not deals:
        messages.warning(request, _("None of the ticked deals can be changed."))
    return redirect_to(target)


def _apply_bulk(deal: Deal, data: dict, actor) -> None:
    # One savepoint per deal: a refused deal leaves the others done.
    with transaction.atomic():
        if data["action"] == DealBulkForm.ASSIGN:
            services.record_update(deal, actor=actor, data={"owner": data["owner"]})
        else:
            services.deal_move_stage(
                deal=deal, stage=data["stage"], actor=actor, lost_reason=data["lost_reason"]
            )


def _refusal_message(refused: list[str]) -> str:
    """One message naming each refused deal and why (the first few, then a count)."""
    shown = "; ".join(refused[:REFUSALS_SHOWN])
    rest = len(refused) - REFUSALS_SHOWN
    if rest > 0:
        shown += " " + ngettext("…and %(count)d more.", "…and %(count)d more.", rest) % {
            "count": rest
        }
    return ngettext(
        "%(count)d deal not changed: %(deals)s",
        "%(count)d deals not changed: %(deals)s",
        len(refused),
    ) % {"count": len(refused), "deals": shown}


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
        # Required values the deal lacks: it cannot move on without them (crm.custom_fields).
        "missing_required": [
            field.label for field in missing_required(RecordType.DEAL, deal.custom)
        ],
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
    # A board's "New deal" passes its pipeline; the new deal's owner is whoever makes it.
    initial = {"owner": request.user.pk}
    pipeline = _wanted_pipeline(request.GET.get("pipeline"))
    if pipeline is not None:
        initial["pipeline"] = pipeline.pk
    form = DealCreateForm(request.POST or None, user=request.user, initial=initial)
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


def _wanted_pipeline(value) -> Pipeline | None:
    """The pipeline a link asks for (?pipeline=id), or None for a missing or bad id."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return Pipeline.objects.filter(pk=int(value)).first()


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
