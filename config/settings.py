"""Engage settings: one file, driven by the environment (see README, "Configuration").

``DEBUG`` off is production: a ``SECRET_KEY`` is then required and every security
setting is on. The embedded default (no ``DATABASE_URL``, no ``REDIS_URL``) keeps its
SQLite database, secret key and mail under ``var/`` and runs jobs in-process.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import dj_database_url
import dj_email_url
import django_stubs_ext
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import csp_origin, env_bool, env_int, env_list, env_mapping, env_str, env_time_zone

# Django's generic classes (ModelAdmin[Model], ModelForm[Model] ...) subscriptable at run time,
# as `mypy --strict` asks their type arguments.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ENGAGE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("ENGAGE_TESTING", False)


# Development commands that read models and migrations but never sign, serve or send:
# they may run with DEBUG off and no SECRET_KEY (e.g. `manage.py makemigrations --check`).
OFFLINE_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate", "spectacular"}


def _offline_command() -> bool:
    argv = sys.argv
    return len(argv) > 1 and Path(argv[0]).name == "manage.py" and argv[1] in OFFLINE_COMMANDS


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG and not TESTING and not _offline_command():
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Former keys, still accepted while what they signed or keyed ages out (sessions, reset
# links, recovery codes' hashes): rotate by moving the old key here.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", "") if env_str("SECRET_KEY_FALLBACKS", "").strip() else []
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-gb"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Recovery codes live in accounts.RecoveryCode (hashed); otp_static stays installed for
    # accounts' migration 0004, which moved its plain-text codes there.
    "django_otp.plugins.otp_static",
    "config",
    "accounts",
    "training",
    "content",
    "engage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The live queue's "nothing changed" (a body-less 304) is answered before the rest.
    "engage.queue_feed.NotModifiedMiddleware",
    # Before WhiteNoise, so the static files it serves carry CSP and X-Frame-Options too.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.input.InputGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page asks for sign-in unless its view is marked @login_not_required (ARCHITECTURE.md,
    # the request flow); the API's views are DRF's, which exempt themselves and answer 401/403 as JSON.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A read whose database connection drops is answered on a new one; a write answers 503.
    "config.db_drop.DatabaseDropMiddleware",
    # Before the views: a session that ended never costs the text someone was writing.
    "config.signin_return.SignInReturnMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
if DEBUG:
    # `make run` shows the product's 404 page too; `?debug-404` brings back Django's.
    MIDDLEWARE.append("config.not_found.ProductNotFoundMiddleware")

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
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'engage.sqlite3'}"
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database address: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (the embedded scheduler, the dev server) share one file: wait for
    # the write lock rather than failing, and let readers go on while a writer writes.
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _db["CONN_MAX_AGE"] = 0
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Prepared statements: with server-side binding, psycopg prepares a statement the second
    # time a connection runs it, and PostgreSQL then skips parsing and planning it (the hot
    # paths' statements planned in up to 1 ms each). Behind a PgBouncer in *transaction*
    # pooling, prepared statements need PgBouncer 1.21+ with `max_prepared_statements` set;
    # with an older one set DATABASE_PREPARE_THRESHOLD=off (server-side binding stays: its
    # unnamed statements are fine behind any pooler). README, "Scaling".
    _threshold = env_str("DATABASE_PREPARE_THRESHOLD", "1").strip().lower()
    if _threshold not in ("off", "none", "") and not _threshold.isdigit():
        raise ImproperlyConfigured(f"DATABASE_PREPARE_THRESHOLD={_threshold!r} must be a whole number or 'off'")
    _db["OPTIONS"] = {
        **_db.get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": None if _threshold in ("off", "none", "") else int(_threshold),
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"

# --- Cache and background jobs -------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://")
if REDIS_URL:
    # Misses, not errors, while Redis is down (config/cache.py); a dead Redis costs 1 s at most.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Redis redelivers an unacknowledged job after this many seconds (a worker killed mid-job).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("ENGAGE_CELERY_VISIBILITY_TIMEOUT", 900, minimum=1),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # A publish that cannot reach the broker fails at once, leaving the job in the outbox
    # for the relay, instead of holding the request through seconds of reconnect attempts.
    "max_retries": 0,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True

# --- Authentication ------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing is deliberately slow; tests hash thousands of passwords.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3

# --- Single sign-on (OpenID Connect), provisioning (SCIM) and the second factor --------------
# README, "Configuration": OIDC_* name the provider; nothing set means no single sign-on.
# mozilla-django-oidc does the protocol (accounts/oidc.py adds discovery and the checks).
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required too")
if OIDC_ISSUER and not OIDC_ISSUER.startswith(("https://", "http://127.0.0.1", "http://localhost")):
    raise ImproperlyConfigured(f"OIDC_ISSUER={OIDC_ISSUER!r} must be an https:// address")
OIDC_BUTTON_NAME = env_str("OIDC_BUTTON_NAME", "your company account")
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_DEPARTMENT_CLAIM = env_str("OIDC_DEPARTMENT_CLAIM", "department")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUP_ROLES = env_mapping("OIDC_GROUP_ROLES", "", values=("employee", "curator", "reviewer", "executive", "admin"))
# Entra ID sends no email_verified claim: set 0 there (its addresses are the tenant's own).
OIDC_REQUIRE_EMAIL_VERIFIED = env_bool("OIDC_REQUIRE_EMAIL_VERIFIED", True)
OIDC_HELP_CONTACT = env_str("OIDC_HELP_CONTACT", "your Engage administrator")
# Password sign-in (the form and POST /api/v1/auth/token/ with a password). Off: single
# sign-on only; the bootstrap administrator's break-glass is `manage.py break_glass`.
ENGAGE_PASSWORD_SIGN_IN = env_bool("ENGAGE_PASSWORD_SIGN_IN", True)
if not ENGAGE_PASSWORD_SIGN_IN and not OIDC_ISSUER:
    raise ImproperlyConfigured("ENGAGE_PASSWORD_SIGN_IN is off but no OIDC_ISSUER is set: nobody could sign in")
# Roles that must use a second factor with a password (comma-separated; empty: nobody).
# Tests turn it on where they test it, so other tests' administrators sign in by password.
_TOTP_ROLES_DEFAULT = "" if TESTING else "admin"
ENGAGE_TOTP_REQUIRED_ROLES = (
    env_list("ENGAGE_TOTP_REQUIRED_ROLES", _TOTP_ROLES_DEFAULT)
    if env_str("ENGAGE_TOTP_REQUIRED_ROLES", _TOTP_ROLES_DEFAULT).strip()
    else []
)
if set(ENGAGE_TOTP_REQUIRED_ROLES) - {"employee", "curator", "reviewer", "executive", "admin"}:
    raise ImproperlyConfigured(f"ENGAGE_TOTP_REQUIRED_ROLES={ENGAGE_TOTP_REQUIRED_ROLES!r} names an unknown role")
ENGAGE_TOTP_ISSUER = env_str("ENGAGE_TOTP_ISSUER", "Engage")
# mozilla-django-oidc's own names for the same things.
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = OIDC_SCOPES
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_callback"
OIDC_OP_AUTHORIZATION_ENDPOINT = ""  # from discovery, at sign-in (accounts/oidc.py)
OIDC_OP_TOKEN_ENDPOINT = ""
OIDC_OP_USER_ENDPOINT = ""
OIDC_OP_JWKS_ENDPOINT = ""
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "accounts.oidc.EngageOIDCBackend"]

ENGAGE_TOKEN_TTL_DAYS = env_int("ENGAGE_TOKEN_TTL_DAYS", 30, minimum=1, maximum=365)
# How many proxies of ours append to X-Forwarded-For in front of the app (0: trust none).
ENGAGE_TRUSTED_PROXY_COUNT = env_int("ENGAGE_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# Unset, the address follows PORT (which `make run PORT=…` passes on), so links in mail,
# share links and the digest point at the port actually served.
ENGAGE_SITE_URL = env_str(
    "ENGAGE_SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000, minimum=1, maximum=65535)}"
).rstrip("/")

# Community queries: the claim lease, the cap on live claims per person, and whether
# outbound deliveries may reach loopback (only ever for a test's local server).
ENGAGE_CLAIM_LEASE_MINUTES = env_int("ENGAGE_CLAIM_LEASE_MINUTES", 15, minimum=1, maximum=24 * 60)
ENGAGE_MAX_OPEN_CLAIMS = env_int("ENGAGE_MAX_OPEN_CLAIMS", 5, minimum=1, maximum=1000)
ENGAGE_OUTBOUND_ALLOW_LOOPBACK = env_bool("ENGAGE_OUTBOUND_ALLOW_LOOPBACK", False)
# Connectors' credentials (engage.connectors.vault) are encrypted at rest under these Fernet
# keys (comma-separated; the first encrypts, every one decrypts, for rotation). Unset: a key
# derived from SECRET_KEY, so that a channel's credentials are lost if SECRET_KEY changes.
ENGAGE_CREDENTIALS_KEYS = env_list("ENGAGE_CREDENTIALS_KEY", "") if env_str("ENGAGE_CREDENTIALS_KEY").strip() else []
for _key in ENGAGE_CREDENTIALS_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "ENGAGE_CREDENTIALS_KEY holds a value that is not a Fernet key (32 url-safe base64-encoded bytes; "
            'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
        ) from None
# How long a published answer's rating link (engage.ratings) lets the customer rate it, or change it.
ENGAGE_RATING_WINDOW_DAYS = env_int("ENGAGE_RATING_WINDOW_DAYS", 14, minimum=1, maximum=365)
# The benchmark (bench/) mounts its ceiling views only when it runs the server.
ENGAGE_BENCH_VIEWS = env_bool("ENGAGE_BENCH", False)
# The webhook's routing job and a published answer's delivery job go to the broker with the
# outbox relay's next run instead of from the request (config.jobs.hand_over).
ENGAGE_HOT_JOBS_BY_RELAY = env_bool("ENGAGE_HOT_JOBS_BY_RELAY", True)

# --- Mail ----------------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Engage <engage@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_URL:
    try:
        _email = dj_email_url.parse(EMAIL_URL)
    except Exception as exc:  # the parser raises bare exceptions on unknown schemes
        raise ImproperlyConfigured(f"EMAIL_URL is not a mail address URL: {exc}") from None
    if not _email.get("EMAIL_BACKEND"):
        raise ImproperlyConfigured(
            f"EMAIL_URL={EMAIL_URL.split(':', 1)[0]}://… has an unknown scheme; use smtp, submission, console or file"
        )
    _mail_options = {
        "host": _email["EMAIL_HOST"],
        "port": _email["EMAIL_PORT"],
        "username": _email["EMAIL_HOST_USER"],
        "password": _email["EMAIL_HOST_PASSWORD"],
        "use_tls": _email["EMAIL_USE_TLS"],
        "use_ssl": _email["EMAIL_USE_SSL"],
        "timeout": _email.get("EMAIL_TIMEOUT") or 10,
    }
    if _email["EMAIL_BACKEND"] != "django.core.mail.backends.smtp.EmailBackend":
        _mail_options = {"file_path": _email["EMAIL_FILE_PATH"]} if _email.get("EMAIL_FILE_PATH") else {}
    MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _mail_options}}
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
NODE_MODULES_DIR = BASE_DIR / "node_modules"
# Only the runtime front-end packages (package.json's "dependencies") are served, each under
# /static/vendor/<name>/; the test tools among the devDependencies (axe-core, the OpenID
# provider) stay on disk.
FRONT_END_PACKAGES: list[str] = sorted(json.loads((BASE_DIR / "package.json").read_text())["dependencies"])
STATICFILES_DIRS.extend(
    (f"vendor/{name}", NODE_MODULES_DIR / name) for name in FRONT_END_PACKAGES if (NODE_MODULES_DIR / name).is_dir()
)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
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
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Security ------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^readyz/web$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = 0 if DEBUG else 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ",".join(f"https://{h}" for h in ALLOWED_HOSTS))

from django.utils.csp import CSP  # noqa: E402

# Everything is served by the app itself: nothing from another origin, no inline script.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
if OIDC_ISSUER:
    # Signing out posts to Engage, which redirects to the provider's end-session endpoint:
    # form-action covers that redirect.
    SECURE_CSP["form-action"] = [CSP.SELF, csp_origin(OIDC_ISSUER)]

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.input.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Engage API",
    "DESCRIPTION": (
        "The public contract of Engage: identity, messaging, community queries, training, the phase. "
        "SCIM 2.0 provisioning at /scim/v2/ is not described here: its contract is RFC 7643/7644 as "
        "/scim/v2/ServiceProviderConfig and /scim/v2/Schemas state it (docs/API.md, Provisioning)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    # Choice sets whose field names ("kind", "roles") other apps reuse get names of their own.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.document_errors"],
    "ENUM_NAME_OVERRIDES": {
        "DepartmentKindEnum": "accounts.models.DepartmentKind",
        "RoleEnum": "accounts.models.RoleName",
        "ChannelKindEnum": "engage.models.ChannelKind",
        "QueryStatusEnum": "engage.models.QueryStatus",
        "QueryPriorityEnum": "engage.models.Priority",
        "CloseReasonEnum": "engage.models.CloseReason",
        "AnswerStatusEnum": "engage.models.AnswerStatus",
        "InsightStatusEnum": "engage.models.InsightStatus",
        "DeliveryStatusEnum": "engage.models.DeliveryStatus",
        "CourseStatusEnum": "training.models.CourseStatus",
    },
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
_LOGGERS: dict[str, dict[str, str]] = {"django.db.backends": {"level": "WARNING"}}
if not REDIS_URL:
    # Embedded: jobs run inside the web process; log their failures, not a line per success.
    _LOGGERS["celery.app.trace"] = {"level": "WARNING"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": _LOGGERS,
}
