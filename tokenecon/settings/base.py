"""Settings shared by every environment, read from environment variables with safe defaults.

Local default: SQLite and a Celery broker that lives in files under ``var/`` (no server).
Scale-out: set ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis).
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from tokenecon.env import env_bool, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("TOKENECON_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-only-used-with-debug-on"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_results",
    "django_celery_beat",
    "axes",
    "csp",
    "tokenecon",
    "pricing",
    "learners",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff "view as" a teacher or learner, read-only (issue 15): after auth and messages.
    "tokenecon.view_as.ViewAsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # django-axes asks to be last: it turns a lockout flagged during authentication into its page.
    # It still wraps every view when the database middleware below comes after it.
    "axes.middleware.AxesMiddleware",
    # Last, so its process_exception sees a view's database error first (503, not 500).
    "tokenecon.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "tokenecon.urls"
WSGI_APPLICATION = "tokenecon.wsgi.application"

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
                "tokenecon.context_processors.roles",
                "tokenecon.context_processors.vendored_assets",
            ],
        },
    },
]

# SQLite in WAL mode with IMMEDIATE transactions: writers queue on the database lock at BEGIN
# instead of failing halfway through a ledger transfer with "database is locked".
SQLITE_PATH = Path(env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")))
DATABASES = {
    "default": dj_database_url.config(env="DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}", conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "tokenecon.staticfiles.PlotlyJsFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Token economy -----------------------------------------------------------------------------
# Share of every purchase the platform keeps; the teacher is credited the rest.
TOKEN_COMMISSION_RATE = Decimal(env_str("TOKEN_COMMISSION_RATE", "0.20"))
# Money value of one token, in TOKEN_CURRENCY, used wherever tokens are shown as money.
TOKEN_TO_MONEY_RATE = Decimal(env_str("TOKEN_TO_MONEY_RATE", "0.10"))
TOKEN_CURRENCY = env_str("TOKEN_CURRENCY", "USD")
TOKEN_PRICE_MIN = int(env_str("TOKEN_PRICE_MIN", "10"))
TOKEN_PRICE_MAX = int(env_str("TOKEN_PRICE_MAX", "500"))
ARTIFACTS_DIR = Path(env_str("TOKENECON_ARTIFACTS_DIR", str(VAR_DIR / "artifacts")))

# --- Teacher money and payments ------------------------------------------------------------------
# A purchase's teacher share is pending for this many days (the learner's refund window), then a
# release moves it to the teacher's available balance, from which payouts are requested.
TOKEN_REFUND_WINDOW_DAYS = int(env_str("TOKEN_REFUND_WINDOW_DAYS", "14"))
# A learner may refund their own purchase inside the window while their progress is below this.
TOKEN_REFUND_MAX_PROGRESS_PCT = int(env_str("TOKEN_REFUND_MAX_PROGRESS_PCT", "30"))
TOKEN_PAYOUT_MIN_TOKENS = int(env_str("TOKEN_PAYOUT_MIN_TOKENS", "500"))
# "manual" records a reference staff type in; "test" is for tests and demos.
PAYOUT_PROVIDER = env_str("PAYOUT_PROVIDER", "manual")
# "demo" pays instantly (card 4000 0000 0000 0002 declines); "stripe" uses Checkout and its webhook.
PAYMENT_PROVIDER = env_str("PAYMENT_PROVIDER", "demo")
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Packs of tokens a learner can buy, with their price in TOKEN_CURRENCY.
TOKEN_PACKS = [
    {"code": "starter", "tokens": 500, "price": Decimal("50.00")},
    {"code": "regular", "tokens": 1200, "price": Decimal("110.00")},
    {"code": "big", "tokens": 3000, "price": Decimal("250.00")},
]
# Promotion guards of a retrained demand model (issue 15, defect 3): the training data must be fresh
# (its last DATA_FRESHNESS_DAYS days average at least DATA_FRESHNESS_MIN_SHARE of the window's usual
# daily enrollments) and have no gap (DATA_GAP_MIN_DAYS or more days in a row without one), the
# held-out weeks enough rows and weeks with enrollments, and the candidate must not score below the
# production model on held-out data (nor a negative R²); otherwise it is registered as staging.
DATA_FRESHNESS_DAYS = int(env_str("DATA_FRESHNESS_DAYS", "14"))
DATA_FRESHNESS_MIN_SHARE = float(env_str("DATA_FRESHNESS_MIN_SHARE", "0.25"))
DATA_GAP_MIN_DAYS = int(env_str("DATA_GAP_MIN_DAYS", "3"))
PROMOTION_MIN_HOLDOUT_ROWS = int(env_str("PROMOTION_MIN_HOLDOUT_ROWS", "200"))
PROMOTION_MIN_HOLDOUT_WEEKS = int(env_str("PROMOTION_MIN_HOLDOUT_WEEKS", "4"))
# A teacher may undo their own last price change for this many hours, while no learner has bought
# the course at the new price (issue 15: teachers set their own price).
PRICE_UNDO_HOURS = int(env_str("PRICE_UNDO_HOURS", "24"))

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous call is a 401 with ``WWW-Authenticate: Token`` (DRF asks the first class).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tokenecon.api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "tokenecon.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_THROTTLE_USER", "6000/min")},
    "EXCEPTION_HANDLER": "tokenecon.api.exceptions.domain_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Token Economy API",
    "DESCRIPTION": "Courses, wallets, pricing and learner insight for a token-based learning marketplace.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tokenecon.api.schema.document_common_errors",
    ],
}

# --- Celery ------------------------------------------------------------------------------------
# Default broker: kombu's filesystem transport (a real transport; messages are files under var/),
# so one machine needs no broker server. CELERY_BROKER_URL=redis://... switches to Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "celery-broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False
# Synced into django-celery-beat's tables when beat starts.
CELERY_BEAT_SCHEDULE = {
    "pricing-nightly-recommendations": {
        "task": "pricing.compute_price_recommendations",
        "schedule": crontab(hour=2, minute=30),
    },
    # Every 30 s, so a run whose worker died (no heartbeat for 90 s) is failed within two minutes.
    "analytics-fail-stale-runs": {"task": "analytics.fail_stale_runs", "schedule": 30.0},
    "learners-nightly-scores-and-offers": {
        "task": "learners.score_learners",
        "schedule": crontab(hour=3, minute=15),
    },
    # Teacher earnings past the refund window move from pending to available (pages also
    # release on read, so this only keeps balances and statements current for everyone else).
    "tokenecon-release-due-earnings": {
        "task": "tokenecon.release_due_earnings",
        "schedule": crontab(hour=0, minute=20),
    },
}

# --- Security: login lockout, API token guessing, top-up caps, Content-Security-Policy -----------
# What each limit means and why: docs/security.md.
# django-axes: LOGIN_FAILURE_LIMIT failed logins within LOGIN_COOLOFF_MINUTES lock that username
# (from any address) and that address (for any username) until the cool-off has passed; a failure
# during a lockout starts the cool-off again. Covers /accounts/login/, the admin login and every
# other authenticate() call. LOGIN_LOCKOUT_PARAMETERS: comma-separated, "+" joins parameters that
# count together (e.g. "username+ip_address" locks only that pair).
AXES_FAILURE_LIMIT = int(env_str("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(env_str("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [
    item.split("+") for item in env_list("LOGIN_LOCKOUT_PARAMETERS", ["username", "ip_address"])
]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged
# A success must not clear the failures: axes would clear every row of that address and that
# username, so one good login of the attacker's own account would reset the count on the victim.
AXES_RESET_ON_SUCCESS = False
# The client address: the socket's (REMOTE_ADDR, which a client cannot forge), or behind
# TRUSTED_PROXY_COUNT proxies the address the outermost of them saw (tokenecon.security.client_ip).
TRUSTED_PROXY_COUNT = int(env_str("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "tokenecon.security.client_ip"
# The API has no obtain-token endpoint (tokens are issued by staff); a wrong "Authorization: Token"
# header counts against the client address, and past the limit the API answers 429 until the
# window has passed (tokenecon/api/authentication.py).
API_TOKEN_FAILURE_LIMIT = int(env_str("API_TOKEN_FAILURE_LIMIT", "20"))
API_TOKEN_FAILURE_WINDOW_SECONDS = int(env_str("API_TOKEN_FAILURE_WINDOW_SECONDS", "900"))
# Top-ups have no payment step yet: a learner may buy at most this many tokens per top-up and per
# rolling 24 hours (tokenecon.services.accounts.top_up_wallet with learner_initiated=True).
TOKEN_TOP_UP_MAX_TOKENS = int(env_str("TOKEN_TOP_UP_MAX_TOKENS", "5000"))
TOKEN_TOP_UP_DAILY_MAX_TOKENS = int(env_str("TOKEN_TOP_UP_DAILY_MAX_TOKENS", "20000"))
# django-csp 4: scripts only from this site (htmx, plotly.js and static/js/app.js, which draws
# the charts from their data attributes, so no page needs an inline script); a per-request nonce
# is there for a template that must have one. Plotly and Swagger UI set inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- E-mail ------------------------------------------------------------------------------------
# Password-reset links go by e-mail: printed on the console by default (no mail server needed),
# SMTP when EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST and friends.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_str("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_str("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Token Economy <no-reply@localhost>")

# --- Health (/health/): worker heartbeats instead of pings ---------------------------------------
# Each Celery worker writes its heartbeat row this often; /health/ counts a worker as up while its
# last beat is younger than HEALTH_WORKER_STALE_S (three missed beats by default).
HEALTH_HEARTBEAT_S = float(env_str("HEALTH_HEARTBEAT_S", "10"))
HEALTH_WORKER_STALE_S = float(env_str("HEALTH_WORKER_STALE_S", str(3 * HEALTH_HEARTBEAT_S)))

# --- Start-up warm-up (tokenecon/wsgi.py) ---------------------------------------------------------
# What web processes load before serving (URLconf, templates, production models, the suggestion
# state) so first requests are not slow; WARM_UP_AT_START=0 (or empty) skips it.
WARM_UP_AT_START = env_str("WARM_UP_AT_START", "analytics.services.warmup.warm_up")
if WARM_UP_AT_START in ("0", "false", "no"):
    WARM_UP_AT_START = ""
