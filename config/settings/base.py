"""Settings shared by every run mode. Everything that differs between machines comes from the environment.

Run modes (docs/ARCHITECTURE.md):
- embedded default (``config.settings.local``): nothing set -> SQLite in WAL mode and kombu's filesystem
  transport, so ``make run`` needs no server;
- production shape (``config.settings.production``): ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL``
  (Redis or RabbitMQ) from the environment;
- tests (``config.settings.test``): PostgreSQL.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("RH_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "template_partials",
    "customers",
    "cases",
    "escalations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused by django-axes into the lockout page (HTTP 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
            # {% partialdef %} everywhere without {% load partials %} (htmx fragments are partials of pages).
            # {% url_memo %}: {% url %} with reverse() memoised (cases/templatetags/url_memo.py).
            "builtins": ["template_partials.templatetags.partials", "cases.templatetags.url_memo"],
        },
    },
]


def _database_from_env() -> dict:
    """``DATABASE_URL`` if set, else the embedded SQLite file (WAL, busy timeout, IMMEDIATE transactions)."""
    if env.str("DATABASE_URL", default=""):
        db = env.db("DATABASE_URL")
        if db["ENGINE"] == "django.db.backends.postgresql":
            pool_size = env.int("DB_POOL_MAX_SIZE", default=0)
            if pool_size:
                # Under gunicorn (config/gunicorn.conf.py sets it): one psycopg pool per process, shared by its
                # threads. A thread holds a connection only while a request uses it, so 96 threads (most of
                # them long polls waiting without one) never become 96 PostgreSQL connections per process.
                db["CONN_MAX_AGE"] = 0  # Django returns the connection to the pool at the end of each request
                db.setdefault("OPTIONS", {})["pool"] = {
                    "min_size": pool_size,  # opened when the process starts serving: no connect in a burst
                    "max_size": pool_size,
                    "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
                    "max_idle": 60,
                }
            else:
                db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
                db["CONN_HEALTH_CHECKS"] = True
        return db
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "resolution_hub.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
            ),
        },
    }


DATABASES = {"default": _database_from_env()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The queue board's covering index (``case_queue_head`` INCLUDE department) is for PostgreSQL's index-only
    # scans; SQLite builds it without the included column, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The portal is English-only (no message catalogues anywhere). With i18n off Django skips its translation machinery
# on every rendered value: about 600 get_language() lookups on one queue-board render, 11 % of its CPU.
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Authentication, sessions, lockout (docs/SECURITY.md) ----------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username/IP before any password is checked (django-axes).
    "config.auth_backends.LockoutBackend",
    "config.auth_backends.ProfileModelBackend",
]
AXES_FAILURE_LIMIT = env.int("RH_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("RH_LOGIN_COOLOFF_MINUTES", default=15))
# Locked: this username from this address. (Not the address alone: a call-centre NAT would lock everyone out.)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("RH_SESSION_COOKIE_AGE", default=14 * 24 * 3600)  # customers: two weeks
CSRF_COOKIE_SAMESITE = "Lax"
RH_STAFF_SESSION = {
    # Staff sessions end after this much inactivity, and at the latest this long after sign-in.
    "IDLE_SECONDS": env.int("RH_STAFF_SESSION_IDLE_SECONDS", default=30 * 60),
    "ABSOLUTE_SECONDS": env.int("RH_STAFF_SESSION_ABSOLUTE_SECONDS", default=10 * 3600),
    # The "last seen" stamp is written at most this often (a session write per request would be wasteful).
    "TOUCH_EVERY_SECONDS": 60,
}
# An "available" associate with no request from any of their staff sessions for this long (no board or workspace
# open: both poll) is set away by the presence sweep. Never less than three last-seen stamps (3 minutes).
RH_PRESENCE_IDLE_SECONDS = env.int("RH_PRESENCE_IDLE_SECONDS", default=5 * 60)
OTP_TOTP_ISSUER = "Resolution Hub"

# --- Security headers ------------------------------------------------------------------------------------
# No inline script anywhere: JS lives in static/js/*.js; htmx comes from django-htmx's static file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Celery ---------------------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport (a real broker-less queue shared by web, worker and beat
# through a folder). Production: CELERY_BROKER_URL=redis://... or amqp://...
_broker = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_URL = _broker
if _broker.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_queue_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        # Exchange tables (broadcast/pidbox); kombu's default is ./control in the working directory.
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than any task (the longest, a refund adapter call, is bounded by CELERY_TASK_TIME_LIMIT; retries are
    # new messages with their own countdown). An unacked message of a killed worker is redelivered after it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard ceiling on any one task, so the visibility timeout above is always longer than a task.
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Proof of life shown in the staff footer; RH_HEARTBEAT_SECONDS shortens it for the embedded boot check.
    "heartbeat": {
        "task": "cases.tasks.heartbeat",
        "schedule": timedelta(seconds=env.int("RH_HEARTBEAT_SECONDS", default=30)),
        "options": {"expires": 25},  # a beat nobody ran in time is dropped, not piled up while workers are down
    },
    # Call Me Now: offer due callbacks to available associates within seconds (skip_locked sweep).
    "callbacks-dispatch": {"task": "cases.tasks.callbacks_dispatch", "schedule": timedelta(seconds=5)},
    "refunds-reconcile-subscriptions": {
        "task": "cases.tasks.subscription_charges_reconcile",
        "schedule": timedelta(minutes=5),
    },
    "refunds-requeue-stuck": {"task": "cases.tasks.refunds_requeue_stuck", "schedule": timedelta(minutes=5)},
    # The audit chain's sequencer: seal committed entries (web writes; a worker burst's tail). Never piles up.
    "audit-seal": {"task": "cases.tasks.audit_seal", "schedule": timedelta(seconds=5), "options": {"expires": 5}},
    # Seconds, not minutes: the callback ring-time target is 60 s. Expires so a backlog never piles up.
    "sla-sweep": {"task": "cases.tasks.sla_sweep", "schedule": timedelta(seconds=5), "options": {"expires": 5}},
    # Presence follows the associate: "available" with no page of the portal open for RH_PRESENCE_IDLE_SECONDS → away.
    "presence-sweep": {
        "task": "cases.tasks.agent_presence_sweep",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 30},
    },
}

# --- REST framework --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 25,
    # Views opt in with ``throttle_scope = "intake" | "money"`` (config/throttles.py); rates in RH_THROTTLE_RATES.
    "DEFAULT_THROTTLE_CLASSES": ["config.throttles.ClientScopedThrottle"],
}
RH_THROTTLE_RATES = {
    "intake": env.str("RH_THROTTLE_INTAKE", default="120/min"),
    "money": env.str("RH_THROTTLE_MONEY", default="30/min"),
}
# Throttle counters and other short-lived state. Production: CACHE_URL=redis://... so every web process shares it.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://resolution-hub")}


# --- Live conversation transport (cases/live.py, docs/WORKSPACE.md) --------------------------------------------
# Long polling: a poll with nothing new waits up to WAIT_SECONDS, woken by a publish after commit. Redis pub/sub
# wakes every web process when CACHE_URL or CELERY_BROKER_URL is Redis (or RH_LIVE_REDIS_URL); without Redis the
# waiters re-check the database every RECHECK_SECONDS. A waiting request holds a server thread: each process lets
# at most MAX_WAITERS wait and keeps the rest of its threads (WEB_THREADS, set by config/gunicorn.conf.py) for pages.
def _live_redis_url() -> str:
    explicit = env.str("RH_LIVE_REDIS_URL", default="")
    if explicit:
        return "" if explicit == "off" else explicit
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        url = env.str(name, default="")
        if url.startswith(("redis://", "rediss://")):
            return url
        if url.startswith("rediscache://"):
            return "redis://" + url.removeprefix("rediscache://")
    return ""


_web_threads = env.int("WEB_THREADS", default=96)
RH_LIVE = {
    "WAIT_SECONDS": env.float("RH_LIVE_WAIT_SECONDS", default=20.0),
    "MAX_WAITERS": env.int("RH_LIVE_MAX_WAITERS", default=max(1, _web_threads - max(4, _web_threads // 4))),
    # Without Redis every waiter re-checks the database (and keeps its connection): fewer of them per process.
    "MAX_DB_WAITERS": env.int("RH_LIVE_MAX_DB_WAITERS", default=16),
    "RECHECK_SECONDS": env.float("RH_LIVE_RECHECK_SECONDS", default=0.5),
    "PUSH_RECHECK_SECONDS": env.float("RH_LIVE_PUSH_RECHECK_SECONDS", default=10.0),
    "BUSY_RETRY_SECONDS": env.int("RH_LIVE_BUSY_RETRY_SECONDS", default=2),
    "REDIS_URL": _live_redis_url(),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Resolution Hub API",
    "DESCRIPTION": "Intake, cases and money for Resolution Hub's integrations and apps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are for signed-in staff and API clients, not the open internet.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.core.Case.Status",
        "RefundStatusEnum": "cases.models.money.Refund.Status",
        "CreditStatusEnum": "cases.models.money.GoodwillCredit.Status",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Product settings (every number has a default from the seed; all overridable) ------------------------
RH = {
    "HIGH_VALUE_THRESHOLD": env.str("RH_HIGH_VALUE_THRESHOLD", default="500.00"),
    "CURRENCY": "USD",
    "MAX_MESSAGE_LENGTH": 5000,
    # Customers may reopen a resolved case for this many days; after that they start a new one.
    "REOPEN_WINDOW_DAYS": env.int("RH_REOPEN_WINDOW_DAYS", default=14),
    # Send an e-mail copy of every Message Center entry (through EMAIL_BACKEND).
    "EMAIL_COPIES": env.bool("RH_EMAIL_COPIES", default=False),
    # The dedicated address for subscription-settlement claims (shown on the claim form).
    "CLAIMS_EMAIL": env.str("RH_CLAIMS_EMAIL", default="settlement-claims@support.example.com"),
    # Delivered-but-missing evidence check (cases/services/refunds/evidence.py)
    "DELIVERY_GPS_MAX_METERS": env.float("RH_DELIVERY_GPS_MAX_METERS", default=150.0),
    "DELIVERY_CLAIM_WINDOW_DAYS": env.int("RH_DELIVERY_CLAIM_WINDOW_DAYS", default=365),
    "DELIVERY_CLAIM_MAX": env.int("RH_DELIVERY_CLAIM_MAX", default=2),
    "DELIVERY_DISPUTE_DEPARTMENT": env.str("RH_DELIVERY_DISPUTE_DEPARTMENT", default="general"),
    # Refund supervision and reconciliation
    "REFUND_STUCK_MINUTES": env.int("RH_REFUND_STUCK_MINUTES", default=15),
    # How long a refund's provider call may hold it (``Refund.call_started_at``): longer than any call can last,
    # i.e. than CELERY_TASK_TIME_LIMIT, after which the worker's child is killed. Another run of the same refund
    # waits (retries) meanwhile instead of calling again or recording FAILED while the call may still pay.
    "REFUND_CALL_LEASE_SECONDS": env.int("RH_REFUND_CALL_LEASE_SECONDS", default=330),
    # Charges per sweep transaction (small: its row locks and enqueues are released batch by batch).
    "REFUND_RECONCILE_BATCH": env.int("RH_REFUND_RECONCILE_BATCH", default=100),
    # A Celery worker seals the audit chain after a task that wrote audit entries at most this often per
    # process (seconds); the beat task "audit-seal" seals the rest every 5 s. 0 = after every such task.
    "AUDIT_SEAL_INTERVAL": env.float("RH_AUDIT_SEAL_INTERVAL", default=0.5),
    # Hot-path statements (take-next, case events; cases/rawrows.py) as server-side prepared statements on
    # PostgreSQL. Turn off behind a transaction-mode pooler (pgbouncer) that cannot keep them per connection.
    "PREPARE_HOT_STATEMENTS": env.bool("RH_PREPARE_HOT_STATEMENTS", default=True),
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # 1 MiB request bodies at most
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Resolution Hub <no-reply@resolution-hub.local>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Card numbers and passwords typed by customers are masked in log lines too (cases/redaction.py).
    "filters": {"redact": {"()": "cases.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Payments adapter: the local sandbox by default. RH_PAYMENTS_FAIL=transient|permanent, RH_PAYMENTS_SLOW=seconds.
RH_PAYMENTS = {
    "ADAPTER": env.str("RH_PAYMENTS_ADAPTER", default="cases.payments.SandboxPayments"),
    "FAIL": env.str("RH_PAYMENTS_FAIL", default=""),
    "SLOW_SECONDS": env.float("RH_PAYMENTS_SLOW", default=0.0),
}

# Telephony adapter (Call Me Now): LocalTelephony records dials locally. RH_TELEPHONY_FAIL=1 simulates an outage.
RH_TELEPHONY = {
    "ADAPTER": env.str("RH_TELEPHONY_ADAPTER", default="cases.telephony.LocalTelephony"),
    "FAIL": env.str("RH_TELEPHONY_FAIL", default=""),
}
