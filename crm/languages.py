"""Which language a page, an email or a survey speaks.

- A signed-in user's choice (User.language) wins; left empty, they follow their browser.
- Anyone else, and the customer pages, follow the browser: Django's LocaleMiddleware reads the
  `django_language` cookie, then Accept-Language.
- What is sent to a customer (survey and ticket emails) speaks the contact's language
  (Contact.language), else the installation's default (LANGUAGE_CODE).
"""

from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import translation


def language_choices() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)


def is_supported(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def for_customer(contact) -> AbstractContextManager:
    """Render inside this to speak to a customer: their contact's language, else the default."""
    language = getattr(contact, "language", "") if contact is not None else ""
    return translation.override(language if is_supported(language) else settings.LANGUAGE_CODE)


class UserLanguageMiddleware:
    """After authentication: a signed-in user's chosen language replaces the one
    LocaleMiddleware took from the browser, for the whole request and its response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language and user.is_authenticated and is_supported(language):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def user_set_language(*, user, language: str) -> None:
    """Keep the user's choice; "" goes back to following their browser."""
    if language and not is_supported(language):
        raise ValueError(f"unsupported language {language!r}")
    user.language = language
    user.save(update_fields=["language"])
