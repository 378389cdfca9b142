"""The "API tokens" page of the signed-in user: list, create (the secret shown once), revoke.
A user only ever reaches their own tokens (the URL names are in crm.access.OWN_ROUTES)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke


def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, secret = api_token_create(user=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                form = ApiTokenForm()  # the page shows the secret, and a fresh form
                messages.success(request, _("Token “%s” created.") % token.name)
        if secret is None:
            status = 400
    tokens = ApiToken.objects.filter(user=request.user)
    context = {
        "form": form,
        "tokens": tokens,
        "secret": secret,
        "section": "api-tokens",
        "docs_url": reverse("api-docs"),
    }
    return render(request, "api/tokens.html", context, status=status)


@require_POST
def api_token_revoke_view(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token)
    messages.success(request, _("Token “%s” revoked.") % token.name)
    return redirect("api-tokens")
