"""Settings shared by every environment. Values that differ come from the environment (see .env.example)."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "departments",
    "tasks",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "departments.middleware.SecurityHeadersMiddleware",  # CSP without inline script
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "reform_ledger.middleware.RejectNulCharactersMiddleware",
    "reform_ledger.middleware.RequestContextMiddleware",  # source address of every audited action
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "departments.middleware.SessionTimeoutMiddleware",  # 30 min idle, 12 h at most, disabled accounts out at once
    "departments.middleware.PasswordChangeRequiredMiddleware",  # after an administrator's reset
    "departments.middleware.DeniedAccessAuditMiddleware",  # every 403 (and 404 on an object) is audited
    "departments.middleware.AuditorConfinementMiddleware",  # the auditor reads the audit log and nothing else
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "reform_ledger.urls"
WSGI_APPLICATION = "reform_ledger.wsgi.application"

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
                "reform_ledger.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A restarted PostgreSQL must not take the app down with it: stale persistent connections are checked.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a whole office: readers must not block the writer (WAL), a writer waits for
    # another instead of failing at once (timeout, seconds), and a write transaction takes the write lock when it
    # begins (IMMEDIATE) so two transactions never both read and then fail to upgrade ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )


def planner_settings(database: dict) -> dict:
    """PostgreSQL's planner told that reading a page out of order costs little more than reading the next one
    (random_page_cost, default 1.1 instead of the server's 4, which models spinning disks). The ledger's tables are
    small enough to stay in memory (20,000 tasks are tens of MB), where the default made the planner scan every
    target of the ledger instead of looking up one unit's 120 tasks by index: the roll-ups' and the dashboard's
    recomputation after a write took 3.5 ms more SQL at 20,000 tasks (bench/bench_pages.py). Set per connection,
    so every server the app is pointed at behaves the same; DATABASE_RANDOM_PAGE_COST="" leaves the server's."""
    cost = env.str("DATABASE_RANDOM_PAGE_COST", default="1.1")
    if database["ENGINE"] == "django.db.backends.postgresql" and cost:
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c random_page_cost={float(cost)}".strip()
    return database


planner_settings(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "departments.User"
LOGIN_URL = "departments:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "departments:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "departments.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "departments.validators.CharacterVarietyValidator", "OPTIONS": {"min_kinds": 3}},
]
# Sign-in lockout (departments/security.py): failures counted from the audit trail.
AUTHENTICATION_BACKENDS = ["departments.security.LockoutModelBackend"]
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_IP_MAX_FAILURES = env.int("LOGIN_IP_MAX_FAILURES", default=20)
LOGIN_FAILURE_WINDOW_MINUTES = env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# How many reverse proxies of ours sit in front of the app; 0 = X-Forwarded-For is ignored (it can be forged).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# One language: every page, whatever the browser asks for (so no LocaleMiddleware). USE_I18N keeps Django's and
# the admin's own texts in Chinese.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_ROOT = BASE_DIR / "static" / "root"  # files served at the site root: /favicon.ico
MEDIA_URL = "/media/"  # never served directly: attachments go through a permission-checking view
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads: attachments and Excel files. Limits are also stated in the error messages.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=50_000)
# Large workbooks parsed at once on one host (reform_ledger.uploads.parse_slot), and how long an upload waits.
UPLOAD_PARSE_SLOTS = env.int("UPLOAD_PARSE_SLOTS", default=2)
UPLOAD_PARSE_WAIT_SECONDS = env.float("UPLOAD_PARSE_WAIT_SECONDS", default=20)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=100)
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "departments.tokens.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "reform_ledger.parsers.ObjectJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "reform_ledger.drf.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reform_ledger.drf.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "医改台账 Reform Ledger API",
    "DESCRIPTION": "医改任务台账、季度进展填报、催报、汇总与看板的接口。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # assets served locally: the intranet has no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # schema and docs: signed in only
}

# Celery. The embedded default (no server) is set in local.py; production uses Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://localhost:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = False
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-batch leaves the job queued; the sweep is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "daily-reminder-sweep": {
        "task": "reports.jobs.reminders_sweep",
        "schedule": crontab(
            hour=env.int("REMINDER_SWEEP_HOUR", default=8),
            minute=env.int("REMINDER_SWEEP_MINUTE", default=30),
        ),
    },
    # Safety net: failed or stranded reminder deliveries and claims a killed worker left undispatched.
    "reminder-deliveries-retry": {
        "task": "reports.jobs.deliveries_retry",
        "schedule": crontab(minute="*/15"),
    },
    # Lights change with the date: today's cached roll-up figures, before anyone asks for them.
    "rollup-figures-warm": {
        "task": "reports.jobs.rollup_figures_warm",
        "schedule": crontab(hour=0, minute=5),
    },
}

# Reminders (issue: reminders and escalation)
REMINDER_DAYS_BEFORE = env.list("REMINDER_DAYS_BEFORE", cast=int, default=[7, 3, 1])
REMINDER_OVERDUE_EVERY_DAYS = env.int("REMINDER_OVERDUE_EVERY_DAYS", default=2)
REMINDER_ESCALATE_SECRETARIAT_FROM = env.int("REMINDER_ESCALATE_SECRETARIAT_FROM", default=2)
REMINDER_ESCALATE_LEADERS_FROM = env.int("REMINDER_ESCALATE_LEADERS_FROM", default=3)
REMINDER_TASK_DAYS_BEFORE = env.list("REMINDER_TASK_DAYS_BEFORE", cast=int, default=[30, 7])
REMINDER_DELIVERY_MAX_ATTEMPTS = env.int(
    "REMINDER_DELIVERY_MAX_ATTEMPTS", default=5
)  # per email/webhook send
REMINDER_WEBHOOK_TIMEOUT = env.float("REMINDER_WEBHOOK_TIMEOUT", default=5.0)  # seconds
# Robot webhooks are called only on these hosts (the official 企业微信 and 钉钉 ones), over https.
WEBHOOK_ALLOWED_HOSTS = env.list(
    "WEBHOOK_ALLOWED_HOSTS", default=["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
)
WEBHOOK_ALLOW_HTTP_HOSTS: list[str] = []  # tests only: their local robot speaks plain http
# Extra days off / extra workdays on top of the official calendar, ISO dates.
EXTRA_HOLIDAYS = env.list("EXTRA_HOLIDAYS", default=[])
EXTRA_WORKDAYS = env.list("EXTRA_WORKDAYS", default=[])

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="医改台账 <noreply@localhost>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Light: a deadline within this many days makes a task 临期 (yellow).
LIGHT_DUE_SOON_DAYS = 30

# The quarterly 通报: the office's own Word template (docxtpl tags, see reports/templates_docx/) and issuer.
BULLETIN_TEMPLATE = env.str("BULLETIN_TEMPLATE", default="")  # empty: reports/templates_docx/bulletin.docx
BULLETIN_ISSUER = env.str("BULLETIN_ISSUER", default="市深化医药卫生体制改革领导小组办公室")

SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
# Enforced by departments.middleware.SessionTimeoutMiddleware (seconds).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 3600)
# API tokens end like sessions (departments/tokens.py): idle and absolute limits, seconds.
API_TOKEN_IDLE_TIMEOUT = env.int("API_TOKEN_IDLE_TIMEOUT", default=SESSION_IDLE_TIMEOUT)
API_TOKEN_ABSOLUTE_TIMEOUT = env.int("API_TOKEN_ABSOLUTE_TIMEOUT", default=SESSION_ABSOLUTE_TIMEOUT)
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
