"""Settings for the CRM, read from the environment.

Every value that differs between a laptop and production comes from an environment variable;
the defaults are those of a quick local run (SQLite, an embedded Celery broker, local memory
cache). See README.md for the full list.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("CRM_TESTING", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string, or set DEBUG=true for a local development run."
        )
    SECRET_KEY = "insecure-development-key-only-used-while-debug-is-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin with its default site replaced by crm.admin_site.AdminSite.
    "crm.admin_site.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "csp",
    "axes",
    "crm",
    "api",
    "webhooks",
    "metrics",
    "goals",
    "automations",
    "imports",
    "exports",
    "webforms",
    "business_templates",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "crm.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.LoginRequiredExceptApiMiddleware",
    # After login: a signed-in user's chosen language wins over the browser's (LocaleMiddleware).
    "crm.languages.UserLanguageMiddleware",
    # The permission floor of every page that writes (crm.access.ROUTE_PERMISSIONS).
    "crm.middleware.RoutePermissionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # After authentication: the dashboards, KPI pages, exports and KPI API read from the
    # replica, when there is one (crm/read_scope.py, crm/db_router.py).
    "crm.read_scope.ReadOnlyRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crm.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Celery worker, beat and the web process share one SQLite file during `make run`.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )


def _without_jit(database: dict) -> dict:
    """PostgreSQL's JIT compiles plans costlier than a threshold: on this app's queries it
    added 60 ms to a rep's ticket queue and 0.08-0.33 s to KPI queries and saved nothing
    (measured at a million deals), so every connection turns it off."""
    if database["ENGINE"].startswith("django.db.backends.postgresql"):
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return database


_without_jit(DATABASES["default"])

# A read replica of the primary (PostgreSQL streaming replication), when configured: the
# dashboards, KPI pages, their CSV exports and the KPI API read from it; everything else,
# every write and every task uses the primary (crm/db_router.py). Migrations never run on it;
# tests read it as a mirror of the test database. A replica that lags shows as staleness on
# those pages: keep it synchronous where the numbers must agree at once everywhere.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_ROUTERS: list[str] = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "TEST": {"MIRROR": "default"},
    }
    _without_jit(DATABASES["replica"])
    DATABASE_ROUTERS = ["crm.db_router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out username and address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login lockout (django-axes, counted in the database so every web process sees the same
# failures): the same username from the same address is refused after 5 failures for 15
# minutes; a success clears the count. Failures and lockouts are in the admin (Axes).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked out do not push the end of the lockout further: the page can say when.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_CLIENT_IP_CALLABLE = "crm.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "crm.views.accounts.locked_out"
# Password-reset emails sent per target address and per client address (django-ratelimit);
# over either, the page answers as usual and sends nothing.
CRM_PASSWORD_RESET_RATE_ACCOUNT = env.str("CRM_PASSWORD_RESET_RATE_ACCOUNT", default="3/h")
CRM_PASSWORD_RESET_RATE_IP = env.str("CRM_PASSWORD_RESET_RATE_IP", default="10/h")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
# Each user picks one (crm.User.language), else the browser's; a customer's is on the contact.
LANGUAGES = [
    ("en", _("English")),
    ("pt-br", _("Brazilian Portuguese")),
    ("es", _("Spanish")),
    ("it", _("Italian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date and one date-and-time form per language, where Django's own differ from what a
# native user reads on every page (crm/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["crm.formats"]
# Off: templates print ids into URLs and data attributes ({{ deal.pk }}), which grouping would
# turn into "1,234". Numbers meant for reading are grouped where they are shown (money and
# KPI filters, floatformat's "g", intcomma).
USE_THOUSAND_SEPARATOR = False
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# The installation's currency: KPIs in money are reported in it.
CRM_CURRENCY = env.str("CRM_CURRENCY", default="USD")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
# Browser libraries come from package.json; Django serves them straight from node_modules.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/sortablejs", NODE_MODULES / "sortablejs"),
]
# Files browsers and tools ask for at the site's root (/favicon.ico), served by whitenoise.
WHITENOISE_ROOT = BASE_DIR / "root"
# Uploaded files (imports read them from a Celery worker): a folder every process can reach.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Finished large exports (exports.services), kept three days.
CRM_EXPORT_DIR = Path(env.str("CRM_EXPORT_DIR", default=str(MEDIA_ROOT / "exports")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Redis, when configured, is the cache and the Celery broker; otherwise nothing to install.
# "default" keeps what any process may recompute (chart data, board sums, keyed by what they
# depend on): local memory for a quick run. "shared" keeps what every process must see alike,
# the rate-limit counts: never a per-process memory, so Redis, or else a table in the database
# (created by `migrate`).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    _redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    CACHES = {"default": _redis_cache, "shared": _redis_cache}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": "crm.cache.DatabaseCache", "LOCATION": "crm_cache"},
    }
RATELIMIT_USE_CACHE = "shared"
# Warm the dashboards in the background (metrics.warm): only where the worker's cache is the
# web processes' cache too (Redis); a worker's own memory would serve nobody.
CRM_WARM_DASHBOARDS = env.bool("CRM_WARM_DASHBOARDS", default=bool(REDIS_URL))
# Sessions: with Redis, read from it and written through to the database ("cached_db"), so a
# Redis restart or an evicted key logs nobody out; without it, in the database. Either way
# every web process sees every session. The login lockout (django-axes) counts in the
# database (its default handler) on the primary, listed in the admin; locks (the nightly
# fill's lease, claims of events and dedupe keys) are rows of the primary too.
if REDIS_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    SESSION_CACHE_ALIAS = "shared"

# The proxies in front of the site (addresses or networks, comma-separated). Only when a
# request comes from one of them is X-Forwarded-For read for the client's address (see
# crm/client_ip.py), which rate limits, the login lockout and the login log all use.
CRM_TRUSTED_PROXIES = env.list("CRM_TRUSTED_PROXIES", default=[])
for _proxy in CRM_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(
            f"CRM_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network"
        ) from _error
RATELIMIT_IP_META_KEY = "crm.client_ip.client_ip"

CELERY_DATA_DIR = Path(env.str("CELERY_DATA_DIR", default=str(VAR_DIR / "celery")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # A message handed to a worker stays in Redis, unacknowledged, until its task ends
    # (acks_late below); if the worker dies, it is handed out again after this many seconds.
    # Longer than the longest task (metrics.refresh_open_periods: time_limit 2,700 s), or a
    # task still running would be started a second time.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # kombu's filesystem transport: a real broker with no server, good for one machine. It
    # deletes a message as it hands it to a worker: a worker killed outright (kill -9, power
    # loss) loses the task it was running, and the next scheduled run makes up for it (the
    # nightly snapshot fills every period not done). Use Redis where that matters.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DATA_DIR / 'results'}"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queues by kind, so each kind scales on workers of its own and a slow one (a mail server, a
# customer's webhook endpoint, the nightly fill) never holds up the others. A worker started
# without -Q consumes every queue declared here (`make run` does); `-Q snapshots` only one
# (README, "Running at scale"). Anything not routed goes to "celery".
CELERY_TASK_DEFAULT_QUEUE = "celery"
CRM_TASK_QUEUES = ["celery", "automations", "snapshots", "email", "webhooks", "transfers"]
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in CRM_TASK_QUEUES]
# Exact names first, then patterns in this order (celery.app.routes.MapRoute).
CELERY_TASK_ROUTES = {
    # Emails (surveys, ticket mails, notifications, invitations), whoever sends them.
    "crm.send_*": {"queue": "email"},
    "automations.send_survey_invitation": {"queue": "email"},
    # Calls to other people's servers, retried with backoff.
    "webhooks.*": {"queue": "webhooks"},
    "automations.call_webhook": {"queue": "webhooks"},
    # Rules run on events, on time and on KPI thresholds.
    "automations.*": {"queue": "automations"},
    # KPI snapshots, open periods, health scores and goal progress: long, database-heavy.
    "metrics.*": {"queue": "snapshots"},
    "goals.*": {"queue": "snapshots"},
    # Imports and large exports: a file streamed through the services, minutes at a time.
    "imports.*": {"queue": "transfers"},
    "exports.*": {"queue": "transfers"},
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every periodic task, one entry each with why it runs when it does.
CELERY_BEAT_SCHEDULE: dict = {
    # Yesterday is complete after midnight; 01:30 leaves room for late-logged activities.
    "snapshot-kpis-nightly": {
        "task": "metrics.snapshot_kpis",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 6 * 3600},
    },
    # Support desk: stamp SLA breaches while nobody looks at the ticket; every 5 minutes so
    # the queue and the breach KPI are at most that late. Expires before the next run.
    "mark-sla-breaches": {
        "task": "crm.mark_sla_breaches",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Support desk: NPS survey to customer contacts not asked in 90 days; Monday morning so
    # answers arrive in the working week.
    "send-nps-surveys-weekly": {
        "task": "crm.send_scheduled_nps_surveys",
        "schedule": crontab(hour=9, minute=0, day_of_week=1),
        "options": {"expires": 6 * 3600},
    },
    # Customer health scores as of yesterday, if the nightly snapshots (which score health
    # first, as yesterday's health KPI reads them) have not already: a safety net.
    "store-company-health-nightly": {
        "task": "metrics.store_company_health",
        "schedule": crontab(hour=2, minute=15),
        "options": {"expires": 6 * 3600},
    },
    # Goals: every goal's progress row for today after the night's snapshots (idempotent per
    # day), so burn-up charts and milestones have a point a day even when nothing changed.
    "update-goal-progress-nightly": {
        "task": "goals.update_all_progress",
        "schedule": crontab(hour=2, minute=45),
        "options": {"expires": 6 * 3600},
    },
    # Goals: recompute the active goals when records changed since the last pass (debounce:
    # a burst of changes costs one recompute, at most two minutes later).
    "refresh-goals-after-changes": {
        "task": "goals.refresh_if_changed",
        "schedule": 120.0,
        "options": {"expires": 100},
    },
    # Automations: claim events whose commit-time dispatch was lost (broker down, worker
    # killed); normally each transaction's events are dispatched at once.
    "dispatch-events-sweep": {
        "task": "automations.dispatch_events",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Webhooks: make deliveries of events a commit-time dispatch missed, and send the
    # deliveries whose retry (backoff: 1 min to 6 h) is due. Expires before the next run.
    "send-due-webhooks": {
        "task": "webhooks.send_due",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # API and webhooks: idempotency keys past their replay window and finished webhook
    # deliveries past their keep window, in bounded batches; hourly keeps each run short.
    # Expires before the next run.
    "purge-api-and-webhook-rows-hourly": {
        "task": "api.purge_old_rows",
        "schedule": crontab(minute=40),
        "options": {"expires": 3000},
    },
    # Automations: time-based rules (date reached, no activity for N days, cron schedules)
    # are looked for every minute and fanned out one task per rule.
    "run-time-rules-every-minute": {
        "task": "automations.run_time_rules",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # Automations: KPI threshold rules, ten minutes after the hourly refresh of the open
    # periods (the 02:15 run follows the nightly snapshot of 01:30).
    "check-kpi-threshold-rules-hourly": {
        "task": "automations.check_kpi_thresholds",
        "schedule": crontab(minute=15),
        "options": {"expires": 50 * 60},
    },
    # The ready-made dashboards of the running month computed again when records changed,
    # so a manager's first view reads them from the cache (metrics.warm). Expires before
    # the next run.
    "warm-dashboards": {
        "task": "metrics.warm_dashboards",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # Large exports are kept three days (exports.services.KEEP_FOR); hourly frees their disk
    # soon after. Expires before the next run.
    "delete-expired-exports": {
        "task": "exports.delete_expired",
        "schedule": crontab(minute=40),
        "options": {"expires": 3000},
    },
    # Monday morning: each manager's (and rep's) review of last week and of the month so far,
    # kept on /reviews/ and emailed to those who opted in. After the 01:30 snapshot.
    "weekly-reviews-monday": {
        "task": "metrics.write_weekly_reviews",
        "schedule": crontab(hour=6, minute=30, day_of_week=1),
        "options": {"expires": 6 * 3600},
    },
    # Today's running day, month and quarter, so dashboards are at most an hour behind.
    "refresh-open-kpi-periods-hourly": {
        "task": "metrics.refresh_open_periods",
        "schedule": crontab(minute=5),
        "options": {"expires": 50 * 60},
    },
}

# Support desk: the address customers' links (surveys, their ticket) point to, and whether a
# CES survey goes out with the CSAT survey when a ticket is resolved.
CRM_BASE_URL = env.str("CRM_BASE_URL", default="http://localhost:8000")
CRM_SURVEY_CES_ON_RESOLVE = env.bool("CRM_SURVEY_CES_ON_RESOLVE", default=False)
# Posts per client address to the public support, reply and survey forms (django-ratelimit).
CRM_PUBLIC_FORM_RATE = env.str("CRM_PUBLIC_FORM_RATE", default="10/m")

# Called by `seed_demo` after seeding (dotted paths, crm imports no other app): metrics
# backfills its KPI snapshots so charts have history on first run. Off in tests, where seeding
# must stay fast; tests that want it turn it on.
CRM_AFTER_SEED: list[str] = (
    []
    if TESTING
    else [
        "metrics.services.backfill_after_seed",
        # Rules before goals: the demo rules win deals, and the goals must count them, so
        # the first page a manager opens agrees with the KPI pages.
        "automations.demo.seed_demo_rules",
        "goals.demo.seed_demo_goals",
        # After the goals: the weeks' reviews and alerts read the history and the goals.
        "metrics.alerts_demo.seed_demo_alerts",
        "metrics.reviews_demo.seed_demo_reviews",
        "webforms.demo.seed_demo_forms",
        "imports.demo.seed_demo_transfers",
    ]
)

# Sent once after each transaction that wrote events (dotted paths of Celery tasks): the
# automations dispatcher claims the new events at once. The periodic sweep below catches any
# missed while the broker was down.
CRM_EVENT_TASKS: list[str] = env.list(
    "CRM_EVENT_TASKS",
    default=["automations.tasks.dispatch_events", "webhooks.tasks.dispatch_webhooks"],
)
# Outbound webhooks: http:// and private, loopback or link-local addresses are refused (SSRF)
# unless this is on (a local receiver in development and tests).
CRM_WEBHOOKS_ALLOW_PRIVATE = env.bool("CRM_WEBHOOKS_ALLOW_PRIVATE", default=False)
# Deliveries in a row that may fail before a webhook subscription pauses (its owner is told).
CRM_WEBHOOKS_PAUSE_AFTER = env.int("CRM_WEBHOOKS_PAUSE_AFTER", default=8)
# How long a finished webhook delivery (and its attempts) and an API idempotency key are kept.
WEBHOOK_DELIVERIES_KEEP_DAYS = env.int("WEBHOOK_DELIVERIES_KEEP_DAYS", default=30)
API_IDEMPOTENCY_KEEP_HOURS = env.int("API_IDEMPOTENCY_KEEP_HOURS", default=24)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")

REST_FRAMEWORK = {
    # Closed by default: every endpoint needs a logged-in user, no Basic auth.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "api.auth.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "api.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiCursorPagination",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="30/minute"),
        "user": env.str("API_THROTTLE_USER", default="2000/hour"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name with others get a name of their own; a stage's
    # outcome and a deal's status are the same three values, named once.
    "ENUM_NAME_OVERRIDES": {
        "DealKindEnum": "crm.models.DealKind",
        "DealStatusEnum": "crm.models.DealStatus",
    },
    # The error answers of api/errors.py on every operation (issue 12).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not TESTING)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not TESTING)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not TESTING)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is the operator's decision, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
