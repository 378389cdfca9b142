from django import forms
from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm.languages import user_set_language


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=lambda: [("", _("As my browser"))] + list(settings.LANGUAGES),
        required=False,
    )


@require_POST
def language_choose(request):
    """The header's language menu: keep the choice on the user, and in the language cookie so
    the login page speaks it too after logging out."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("There is no such language."))
    language = form.cleaned_data["language"]
    user_set_language(user=request.user, language=language)
    response = redirect(_next_page(request))
    if language:
        translation.activate(language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


def _next_page(request) -> str:
    wanted = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe and wanted.startswith("/") else "/"
