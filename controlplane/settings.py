"""Settings, all read from the environment.

With no environment at all this is the embedded default: SQLite under ``var/``,
Celery tasks run eagerly, an in-process cache and session store. Setting
``DATABASE_URL``, ``REDIS_URL`` and ``CELERY_BROKER_URL`` switches each part to
PostgreSQL, Redis and a real broker. ``DJANGO_ENV=production`` refuses to start
without a real ``SECRET_KEY`` and turns on the deploy hardening.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0/true/false), got {raw!r}")


def env_float(name: str, default: float, *, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be within [{low}, {high}], got {value}")
    return value


ENVIRONMENT = os.environ.get("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development, test or production")
PRODUCTION = ENVIRONMENT == "production"

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured("Production needs SECRET_KEY set to a random string of 50+ characters")
# Decision tokens are signed with their own key so rotating it never logs admins out.
DECISION_SIGNING_KEY = os.environ.get("DECISION_SIGNING_KEY", SECRET_KEY + ":decisions")

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "simple_history",
    "experiments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

# The admin's flash messages live in the session it already has. The default storage tries a
# signed cookie first, and builds that cookie's signer on every request, storefront calls too.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "controlplane.urls"
WSGI_APPLICATION = "controlplane.wsgi.application"

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
            ]
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # Wait for the writer lock instead of failing when the demo server and
            # the traffic simulator write at the same time.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": None,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "cp"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "TIMEOUT": None}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # An eager apply_async still takes a producer from the broker's pool (for its serializer). An
    # empty URL is amqp with no host, and kombu warned "No hostname was supplied" on the first
    # task of every command; the in-memory transport named with a host sends nothing anywhere.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the worker's database connection before and after every task
# unless this is set, so each task paid a new PostgreSQL backend (fork and authentication).
# The worker now keeps its connection like a web process does: controlplane.celery drops it
# around a task when it is broken or older than CONN_MAX_AGE, and the fixup after this many tasks.
CELERY_DB_REUSE_MAX = 1_000
ALLOCATION_INTERVAL_S = env_float("ALLOCATION_INTERVAL_S", 60.0, low=1.0, high=86_400.0)
POSTERIOR_SWEEP_INTERVAL_S = env_float("POSTERIOR_SWEEP_INTERVAL_S", 10.0, low=1.0, high=3_600.0)
# Training: models retrain on this schedule (daily by default) on the last TRAINING_WINDOW_DAYS of
# interactions, counted back from the newest one. A new version serves only if its primary offline
# metric (recall@10) on the holdout is at least (1 - RETRAIN_TOLERANCE) times the serving version's.
RETRAIN_INTERVAL_S = env_float("RETRAIN_INTERVAL_S", 86_400.0, low=60.0, high=30 * 86_400.0)
TRAINING_WINDOW_DAYS = env_float("TRAINING_WINDOW_DAYS", 90.0, low=1.0, high=3_650.0)
RETRAIN_TOLERANCE = env_float("RETRAIN_TOLERANCE", 0.05, low=0.0, high=1.0)
CELERY_BEAT_SCHEDULE = {
    "allocations-recompute": {
        "task": "experiments.tasks.allocations_recompute_task",
        "schedule": ALLOCATION_INTERVAL_S,
    },
    # Catches events whose enqueue was lost (broker down at commit time).
    "models-retrain": {
        "task": "experiments.tasks.models_retrain_task",
        "schedule": RETRAIN_INTERVAL_S,
    },
    "posteriors-sweep": {
        "task": "experiments.tasks.posteriors_update_task",
        "schedule": POSTERIOR_SWEEP_INTERVAL_S,
    },
}

# Experiment mechanics.
ATTRIBUTION_WINDOW_S = env_float("ATTRIBUTION_WINDOW_S", 86_400.0, low=60.0, high=30 * 86_400.0)
EVENT_MAX_FUTURE_SKEW_S = env_float("EVENT_MAX_FUTURE_SKEW_S", 300.0, low=0.0, high=86_400.0)
EVENT_MAX_AGE_S = env_float("EVENT_MAX_AGE_S", 7 * 86_400.0, low=3_600.0, high=365 * 86_400.0)
SERVING_REFRESH_S = env_float("SERVING_REFRESH_S", 1.0, low=0.0, high=600.0)
# Freeze the objects alive after a web process's first serving-state load out of the cyclic
# GC's walks (experiments.serving.state.long_lived_freeze): a full collection then no longer walks
# the models and state, which stalled every queued request (bench.bench_gc_pause).
SERVING_GC_FREEZE = env_bool("SERVING_GC_FREEZE", True)
# Requests per second one storefront key may make (per key, all web processes together); 0 = no limit.
STOREFRONT_RATE_PER_S = int(env_float("STOREFRONT_RATE_PER_S", 20_000, low=0, high=10_000_000))
# The shop's currency (ISO 4217): the default of an item's price currency and of revenue figures.
SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "USD")
MODEL_ROOT = Path(os.environ.get("MODEL_ROOT", VAR_DIR / "models"))
ALLOCATION_DRAWS = int(env_float("ALLOCATION_DRAWS", 20_000, low=1_000, high=1_000_000))
# Revenue experiments: no arm leads, stops or is promoted before it has this many purchases (the
# order-value model needs orders to learn from), and order values above this quantile of the
# shop's orders are capped for decisions (one whale order must not decide); reports show both.
REVENUE_MIN_PURCHASES = int(env_float("REVENUE_MIN_PURCHASES", 30, low=0, high=1_000_000))
REVENUE_VALUE_CAP_QUANTILE = env_float("REVENUE_VALUE_CAP_QUANTILE", 0.995, low=0.5, high=1.0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "experiments.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Recommendation experiments control plane",
    "DESCRIPTION": "Storefront assignments and events, experiment reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "experiments.api.schemas.pages_enum_postprocess",
    ],
    # Two fields are called "reason": each enum keeps a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "ReasonEnum": "experiments.api.report_schemas.STOPPING_REASONS",
        "FallbackReasonEnum": "experiments.services.assignments.FALLBACK_REASONS",
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 1_048_576 + 4096

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_float("SECURE_HSTS_SECONDS", 31_536_000, low=0, high=63_072_000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
