"""Settings shared by every environment. Values come from config.env."""

from datetime import timedelta

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

from config.env import (
    BASE_DIR,
    DATABASE_URL,
    REDIS_URL,
    VAR_DIR,
    env_bool,
    env_int,
    env_list,
    env_str,
)

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "django_htmx",
    "template_partials",
    "django_filters",
    "csp",
    "ninja",
    "axes",
]
LOCAL_APPS = [
    "workspaces",
    "jobs",
    "contacts",
    "segments",
    "imports",
    "campaigns",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The request at hand for the audit trail's "who did it" (workspaces.audit).
    "workspaces.audit.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Text a database cannot store (NUL) in a parameter or cookie: a 400, before any view.
    "config.middleware.UnstorableInputMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "workspaces.middleware.LoginRequiredMiddleware",
    "workspaces.middleware.CurrentWorkspaceMiddleware",
    # Last: turns a sign-in refused by the throttle into the page that says so.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "workspaces.context_processors.workspace",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'kith.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A kept connection (DB_CONN_MAX_AGE) is checked before a request or task
        # reuses it, so one broken by a database restart is replaced, not failed on.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that does not answer fails a connection in seconds (the 503
    # page, a task retried), instead of hanging the request or the worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kith",
            # A Redis that is down or hung costs a request at most this long per call;
            # callers treat the cache as optional (the API rate limit fails open).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # A file cache is shared by the web server and the worker without a server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (workspaces/signin.py): failures counted per address and per user
# name, separately; past the limit, refused until the cool-off has passed.
AUTHENTICATION_BACKENDS = [
    "workspaces.signin.SignInThrottle",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "workspaces.signin.SignInAttempts"
AXES_LOCKOUT_CALLABLE = "workspaces.signin.lockout_response"
AXES_USERNAME_CALLABLE = "workspaces.signin.username_of"
AXES_DISABLE_ACCESS_LOG = True  # a throttle, not an audit log of every sign-in
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

# Uploads: a request body larger than this is refused before it is read whole.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000

# Campaign mail: the console backend unless told (EMAIL_BACKEND=...filebased.EmailBackend
# with EMAIL_FILE_PATH, or ...smtp.EmailBackend with the EMAIL_HOST settings below).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kith@localhost")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Campaign SMS: a class with send(to, text); the default prints them.
SMS_SENDER = env_str("SMS_SENDER", "campaigns.channels.ConsoleSmsSender")
# The site's address as mail programs reach it: the open pixel and click links.
KITH_BASE_URL = env_str("KITH_BASE_URL", "http://127.0.0.1:8000")
# Deliveries queued and sent per chunk of a campaign's send job.
CAMPAIGN_BATCH_SIZE = env_int("CAMPAIGN_BATCH_SIZE", 500)

# Content-Security-Policy: no inline scripts, everything served from here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Celery: Redis when REDIS_URL is set, else kombu's filesystem transport.
# The host part is unused by the filesystem transport; naming one keeps kombu from
# warning "No hostname was supplied" on every task sent.
CELERY_BROKER_URL = REDIS_URL or "filesystem://localhost//"
if not REDIS_URL:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A broker that is away must never hold up a request: connecting and each command
    # give up after a few seconds (kombu's default is to wait forever), and
    # jobs.dispatch logs the failure while the sweep sends the message later. The
    # worker's BRPOP waits 1 s, inside the socket timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
        "socket_keepalive": True,
        "health_check_interval": 10,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing outside jobs.dispatch (beat, tasks sending tasks) fails as fast.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A worker waits for the broker however long it is away, then goes on (by default it
# gives up after 100 attempts, about 45 minutes).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60 * 30)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 35)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# API
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 1200)
API_MAX_BATCH = 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Background work (commands.md): the database is the record of what is still to do;
# the sweep sends again what is pending and not being worked on. A job's lease runs out
# this long after its last sign of life (a dead worker's job goes to another one).
BACKGROUND_SWEEP_SECONDS = env_int("BACKGROUND_SWEEP_SECONDS", 60)
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 120)
# After a send to the broker fails, a process sends nothing more for this long (each
# write would wait out the timeouts again); the sweep still tries, and sends the work.
BROKER_AWAY_SECONDS = env_int("BROKER_AWAY_SECONDS", 30)
# Past this many changed contacts, the segments a change can affect are refreshed
# whole instead of contact by contact.
MEMBERSHIP_FULL_REFRESH_AFTER = env_int("MEMBERSHIP_FULL_REFRESH_AFTER", 20_000)

CELERY_BEAT_SCHEDULE = {
    "background-sweep": {
        "task": "jobs.tasks.sweep",
        "schedule": BACKGROUND_SWEEP_SECONDS,
    },
    # Rules with relative dates ("within the last 7 days") change as time passes.
    "refresh-time-based-segments": {
        "task": "segments.tasks.refresh_time_based",
        "schedule": env_int("SEGMENT_SCHEDULE_SECONDS", 15 * 60),
    },
    # check_segments --repair, daily (commands.md): membership cannot drift for longer.
    "repair-segment-drift": {
        "task": "segments.tasks.repair_drift",
        "schedule": crontab(hour=3, minute=30),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SEGMENT_LIMIT = env_int("SEGMENT_LIMIT", 500)
# A contact-list bulk action that touches more contacts than this runs as a job in the
# background (with progress on the Activity page) instead of inside the request.
BULK_JOB_THRESHOLD = env_int("BULK_JOB_THRESHOLD", 5000)
SEGMENT_MEMBERS_MAX_BATCH = 10_000

# Imports (commands.md): a file over either limit is refused before any row is written.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 100 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 2_000_000)
# Rows checked, written and checkpointed together (one transaction each).
IMPORT_CHUNK_ROWS = env_int("IMPORT_CHUNK_ROWS", 5000)

# Exports: a finished export's file is deleted by the sweep this many days after it
# was made (the Exports page then says "expired").
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 7)
