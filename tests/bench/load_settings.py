"""The project's settings as production reads them, with the collected static files in a folder
of the load test's own (LOAD_STATIC_ROOT), so a run leaves nothing in the checkout.

Static files keep their hashed names (the manifest the pages' `{% static %}` reads), without
whitenoise's gzip and brotli copies: compressing the vendor libraries took minutes on a busy
2-core machine, and simulated people ask for no static file.
"""

import os
from pathlib import Path

from crm.settings import *  # noqa: F403 - the settings under test, unchanged
from crm.settings import STORAGES

STATIC_ROOT = Path(os.environ["LOAD_STATIC_ROOT"])
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
