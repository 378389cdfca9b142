from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from api.schema_view import CachedSchemaView
from crm import api, views
from crm.views import accounts, language

# ReDoc draws with style elements of its own: those made once it starts carry this response's
# nonce; the two its bundle makes as it loads (an empty one, perfect-scrollbar's rules) are
# allowed by hash, which a sidecar upgrade may change (tests/api/test_docs_pages.py tells).
# Its search index runs in a worker made from a blob.
REDOC_CSP = {
    "style-src": [
        SELF,
        NONCE,
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ],
    "worker-src": [SELF, "blob:"],
}

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path(
        "accounts/password_reset/",
        accounts.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    # One login page for everyone, so every login is recorded.
    path("admin/login/", views.admin_login),
    path("admin/", admin.site.urls),
    path("api/me/", api.me, name="api-me"),
    path("api/", include("api.urls")),
    path("account/language/", language.language_choose, name="language"),
    path("account/", include("api.urls_pages")),
    # The JavaScript strings of the request's language; base.html asks for it with the language
    # in the query, so a browser's cached copy never speaks another one.
    path(
        "jsi18n/",
        login_not_required(cache_control(max_age=3600)(JavaScriptCatalog.as_view())),
        name="javascript-catalog",
    ),
    path("api/schema/", CachedSchemaView.as_view(), name="api-schema"),
    # The split view serves its script from its own URL: the CSP refuses inline scripts.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="crm/api_docs.html"
        ),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        csp_update(REDOC_CSP)(
            SpectacularRedocView.as_view(url_name="api-schema", template_name="crm/api_redoc.html")
        ),
        name="api-redoc",
    ),
    path("", include("crm.urls.records")),
    path("", include("crm.urls.duplicates")),
    path("", include("crm.urls.deals")),
    path("", include("crm.urls.work")),
    path("", include("crm.urls.support")),
    path("", include("crm.urls.settings")),
    path("", include("metrics.urls")),
    path("", include("goals.urls")),
    path("", include("automations.urls")),
    path("", include("imports.urls")),
    path("", include("exports.urls")),
    path("", include("webforms.urls")),
    path("", include("business_templates.urls")),
    path("", include("webhooks.urls")),
]
