"""`Authorization: Bearer <token>`: a personal API token (api.ApiToken), refused once revoked,
expired or when its user is deactivated."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions

from .models import ApiToken, hash_secret

# Writing last_used_at on every request would make each read a write; a minute is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as: Bearer <token>."))
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from error
        token = (
            ApiToken.objects.usable()
            .select_related("user")
            .filter(key_hash=hash_secret(secret))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid, revoked or expired token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The tokens in the OpenAPI schema (Swagger UI's "Authorize" button)."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
