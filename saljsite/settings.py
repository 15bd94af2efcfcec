"""Saljsite settings: one module, driven by the environment (see `.env.example`).

Defaults give the embedded mode (SQLite under `var/`, Celery eager, no Redis). Production sets
`DEBUG=false`, `SECRET_KEY`, `ALLOWED_HOSTS`, `DATABASE_URL` and `REDIS_URL`.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-saljsite-development-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "people",
    "pipeline",
    "activities",
    "kpis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "saljsite.urls"
WSGI_APPLICATION = "saljsite.wsgi.application"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'saljsite.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# PostgreSQL: the API create's statements are prepared once per connection
# (`saljsite/prepared.py`). Off behind a proxy that pools by transaction and cannot keep
# prepared statements.
SALJSITE_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the server read while a recompute writes; a busy timeout avoids "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------------------
# Internationalisation, time and money
# ---------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="sv")
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True
# Organisation currency (ISO 4217); amounts are stored as decimals in this currency.
SALJSITE_CURRENCY = env.str("CURRENCY", default="SEK")
# Country whose public holidays are not working days (pace, projections).
SALJSITE_HOLIDAY_COUNTRY = env.str("HOLIDAY_COUNTRY", default="SE")
# Holiday categories of the `holidays` package that are days off ("de_facto": Midsummer Eve,
# Christmas Eve and New Year's Eve in Sweden).
SALJSITE_HOLIDAY_CATEGORIES = tuple(env.list("HOLIDAY_CATEGORIES", default=["public", "de_facto"]))
# A connected call of at least this many seconds counts as a quality call (`calls_over_3_min`).
KPI_QUALITY_CALL_SECONDS = env.int("KPI_QUALITY_CALL_SECONDS", default=180)
# Recompute a rep's dirty cells right after each write commits (freshness); nightly runs anyway.
KPI_RECOMPUTE_ON_WRITE = env.bool("KPI_RECOMPUTE_ON_WRITE", default=True)
# A recompute with more reps than this fans out into chunks, one Celery task each.
KPI_RECOMPUTE_CHUNK_REPS = env.int("KPI_RECOMPUTE_CHUNK_REPS", default=50)
# PostgreSQL work_mem of a recompute transaction (one runs at a time; see kpis/compute/run.py).
KPI_RECOMPUTE_WORK_MEM = env.str("KPI_RECOMPUTE_WORK_MEM", default="256MB")

# ---------------------------------------------------------------------------
# Static files
# ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ---------------------------------------------------------------------------
# Celery (eager in-process without REDIS_URL; a real broker with it)
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_RESULT_EXPIRES = 60 * 60 * 24

# ---------------------------------------------------------------------------
# REST API (/api/v1/, see saljsite/api/)
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "saljsite.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # The browser; CSRF enforced.
    ],
    "DEFAULT_PERMISSION_CLASSES": ["saljsite.api.handling.ScopedWritePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "saljsite.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "saljsite.api.handling.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "saljsite.api.handling.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Login attempts per client IP (POST /api/v1/auth/token/).
        "login": env.str("API_LOGIN_THROTTLE_RATE", default="10/min"),
    },
    # Proxies in front of the app: the client IP the login throttle counts is then taken from
    # X-Forwarded-For. Unset: REMOTE_ADDR.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=None),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Saljsite API",
    "DESCRIPTION": "Activities, pipeline, targets and KPIs of Saljsite. Authenticate with "
    "`Authorization: Token <key>` (POST /api/v1/auth/token/) or the browser session.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc assets from the installed drf-spectacular-sidecar: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "activities.models.Activity.Kind",
        "ActivityStatusEnum": "activities.models.Activity.Status",
        "CallOutcomeEnum": "activities.models.Activity.Outcome",
        "MeetingModeEnum": "activities.models.Activity.Mode",
        "DirectionEnum": "pipeline.models.Direction",
        "LeadSourceEnum": "pipeline.models.LeadSource",
        "LeadStatusEnum": "pipeline.models.Lead.Status",
        "StageOutcomeEnum": "pipeline.models.Stage.Outcome",
        "OpportunityKindEnum": "pipeline.models.Opportunity.Kind",
        "ChannelEnum": "pipeline.models.Opportunity.Channel",
        "RepCostKindEnum": "pipeline.models.RepCost.Kind",
        "UserRoleEnum": "people.models.User.Role",
        "SalesRoleEnum": "kpis.models.targets.ROLE_CHOICES",
        "PeriodEnum": "kpis.models.targets.PERIOD_CHOICES",
        "TargetScopeEnum": "kpis.models.targets.Target.Scope",
        "KpiCodeEnum": "kpis.models.targets.KPI_CHOICES",
    },
}

# ---------------------------------------------------------------------------
# Cache (shared through Redis when there is one, so throttles count across all workers)
# ---------------------------------------------------------------------------
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# ---------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Saljsite <noreply@saljsite.local>")

# ---------------------------------------------------------------------------
# Security (strict unless DEBUG)
# ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # Forms read the cookie for htmx/fetch posts.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
