"""The OpenAPI schema view, cached: drf-spectacular walks every view and serializer on each
request (1.2-3 s on this app). What makes the schema differ is the code, the language of its
descriptions and the custom field definitions (their `cf_` filters, api.schema), so the cache
key holds those: this process's code and one small query of the active definitions."""

import hashlib
from functools import cache
from pathlib import Path

from django.core.cache import cache as django_cache
from django.utils.translation import get_language
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

SCHEMA_CACHE_SECONDS = 60 * 60


class CachedSchemaView(SpectacularAPIView):
    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = "api-schema:" + _digest(
            [_code_signature(), str(version), get_language() or "", _definitions_signature()]
        )
        schema = django_cache.get(key)
        if schema is None:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            schema = generator.get_schema(request=request, public=self.serve_public)
            django_cache.set(key, schema, SCHEMA_CACHE_SECONDS)
        filename = self._get_filename(request, version)
        return Response(
            data=schema, headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@cache
def _code_signature() -> str:
    """The release this process runs: the modification times of the app's Python files."""
    root = Path(__file__).resolve().parents[1]
    return str(max(path.stat().st_mtime_ns for path in root.glob("*/**/*.py")))


def _definitions_signature() -> str:
    from crm.models import CustomField

    rows = CustomField.objects.filter(is_active=True).order_by("id")
    return repr(
        list(rows.values_list("id", "record_type", "key", "field_type", "choices", "order"))
    )
