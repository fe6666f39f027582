"""A small school site (students with photos, payments with receipts) backed up with kura_django.

Environment (for tests and the demo): EXAMPLE_ROOT (data folder, default this folder),
EXAMPLE_DATABASE=sqlite|postgresql with EXAMPLE_PG_NAME/USER/PASSWORD/HOST/PORT, KURA_BINARY,
EXAMPLE_LANGUAGE (en-us or fr)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("EXAMPLE_ROOT", BASE_DIR))
DATA.mkdir(parents=True, exist_ok=True)
SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "school", "kura_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
]
if os.environ.get("EXAMPLE_AUTOLOGIN"):  # demo screenshots only: see example/autologin.py
    MIDDLEWARE.append("example.autologin.AutoLoginMiddleware")
ROOT_URLCONF = "example.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages"]},
}]
if os.environ.get("EXAMPLE_DATABASE") == "postgresql":
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": os.environ.get("EXAMPLE_PG_NAME", "school"),
        "USER": os.environ.get("EXAMPLE_PG_USER", "postgres"), "PASSWORD": os.environ.get("EXAMPLE_PG_PASSWORD", ""),
        "HOST": os.environ.get("EXAMPLE_PG_HOST", ""), "PORT": os.environ.get("EXAMPLE_PG_PORT", ""),
    }}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA / "db.sqlite3",
                             "TEST": {"NAME": str(DATA / "test_db.sqlite3")}}}
MEDIA_ROOT = DATA / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
LANGUAGE_CODE = os.environ.get("EXAMPLE_LANGUAGE", "en-us")
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

KURA = {
    "REPOSITORY": DATA / "kura-repository",
    # The repository is encrypted: its password, first line of a 0600 file (or KURA_PASSWORD_FILE).
    "PASSWORD_FILE": os.environ.get("KURA_PASSWORD_FILE", DATA / "kura-password"),
    "EXPORT_DIR": DATA / "backups",
    "BINARY": os.environ.get("KURA_BINARY", "kura"),
    "KEEP": {"daily": 7, "weekly": 4, "monthly": 12},
    "EXPORT": "latest",
}
