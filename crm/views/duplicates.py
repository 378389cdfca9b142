"""Possible duplicates of contacts, companies and leads, and the page merging two of them."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm import access, duplicates
from crm.forms.merge import MergeForm
from crm.services.merge import record_merge

# Deeper pages than this are refused: an offset that large is a scan, not a page anyone reads.
MAX_PAGE = 2000


def duplicate_list(request, kind: str):
    spec = _kind(kind)
    if not request.user.has_perm(f"crm.view_{kind}"):
        raise PermissionDenied
    rule = request.GET.get("rule", "")
    if rule not in spec.rules:
        rule = spec.rules[0]
    page = duplicates.duplicate_page(spec, rule, request.user, _page_number(request))
    context = {
        "spec": spec,
        "page": page,
        "rules": [(value, duplicates.Rule(value).label) for value in spec.rules],
        "trigrams": duplicates.uses_trigrams(),
        "can_merge": access.may_post(request.user, f"{kind}-merge"),
        "section": spec.list_url,
    }
    return render(request, "crm/duplicates/list.html", context)


def merge(request, kind: str, pk):
    """Merge another record (`other`) into this one, choosing the surviving values."""
    spec = _kind(kind)
    keep = access.get_for_user(spec.model, request.user, pk, write=True)
    data = request.POST if request.method == "POST" else request.GET
    raw_other = data.get("other", "").strip()
    if not raw_other:
        return _pick_page(request, spec, keep)
    if not _is_number(raw_other, 18):
        return _pick_page(request, spec, keep, error=_("Give the number of a record."))
    if int(raw_other) == keep.pk:
        return _pick_page(request, spec, keep, error=_("A record cannot be merged with itself."))
    try:
        remove = access.get_for_user(spec.model, request.user, int(raw_other), write=True)
    except Http404:
        error = _("There is no %(type)s #%(pk)s you may change: it may have been merged already.")
        return _pick_page(
            request, spec, keep, error=error % {"type": spec.label, "pk": raw_other}, status=404
        )
    form = MergeForm(request.POST if request.method == "POST" else None, keep=keep, remove=remove)
    if request.method == "POST" and form.is_valid():
        try:
            record_merge(keep=keep, remove=remove, choices=form.choices(), actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("“%(removed)s” was merged into “%(kept)s”.") % {"removed": remove, "kept": keep},
            )
            return redirect(spec.detail_url, keep.pk)
    context = {
        "spec": spec,
        "keep": keep,
        "remove": remove,
        "form": form,
        "swap_url": f"{reverse(f'{kind}-merge', args=[remove.pk])}?other={keep.pk}",
        "section": spec.list_url,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "crm/duplicates/merge.html", context, status=status)


def _pick_page(request, spec, keep, *, error: str = "", status: int | None = None):
    """Which record to merge into this one: its likely duplicates, or a number."""
    matches = duplicates.likely_duplicates(
        spec.model, duplicates.values_of(keep), request.user, exclude_pk=keep.pk
    )
    context = {
        "spec": spec,
        "keep": keep,
        "matches": matches,
        "error": error,
        "section": spec.list_url,
    }
    return render(
        request, "crm/duplicates/pick.html", context, status=status or (400 if error else 200)
    )


def _kind(kind: str) -> duplicates.Kind:
    spec = duplicates.KINDS.get(kind)
    if spec is None:
        raise Http404
    return spec


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    if not _is_number(raw, 6):
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def _is_number(raw: str, max_digits: int) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= max_digits


def create_warning(request, form, model) -> dict:
    """Context for a create form's warning: the likely duplicates of what it holds, unless
    the user already chose "create anyway". Never blocks: one more click creates the record."""
    if request.POST.get("confirm_duplicate"):
        return {}
    found = duplicates.likely_duplicates(model, form.cleaned_data, request.user)
    if not found:
        return {}
    return {"duplicates": found, "duplicate_detail_url": duplicates.KIND_OF_MODEL[model].detail_url}
