"""The `KURA` setting, with the database and media folder taken from Django's own settings."""
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

DEFAULT_KEEP = {"daily": 7, "weekly": 4, "monthly": 12}


@dataclass
class KuraSettings:
    repository: str
    export_dir: str
    binary: str
    keep: dict
    export: str
    media_root: str
    database_url: str
    database_name: str
    # Passed to kura in its environment only (PGPASSWORD): never on a command line.
    environment: dict = field(default_factory=dict)
    # age recipients (age1…): archives are then written encrypted, backup_complet_….tar.gz.age.
    export_encrypt_to: list = field(default_factory=list)
    # False: the repository is created plain (kura init --no-encryption).
    encryption: bool = True

    @property
    def remote(self):
        """True for a repository in object storage or on an rclone remote (s3:…, rclone:…)."""
        return self.repository.startswith(("s3:", "rclone:"))

    @classmethod
    def load(cls):
        kura = getattr(settings, "KURA", {})
        if "REPOSITORY" not in kura:
            raise ImproperlyConfigured(_('settings.KURA["REPOSITORY"] is missing: the Kura repository (a folder, s3:… or rclone:…)'))
        base = Path(getattr(settings, "BASE_DIR", os.getcwd()))
        export = kura.get("EXPORT", "latest")
        if export not in ("latest", "none"):
            raise ImproperlyConfigured(_('settings.KURA["EXPORT"] must be "latest" or "none"'))
        encrypt_to = kura.get("EXPORT_ENCRYPT_TO", [])
        encrypt_to = [encrypt_to] if isinstance(encrypt_to, str) else list(encrypt_to)
        if not all(isinstance(r, str) and r.startswith("age1") for r in encrypt_to):
            raise ImproperlyConfigured(_('settings.KURA["EXPORT_ENCRYPT_TO"] must be age recipients (age1…, from age-keygen)'))
        url, name, env = database_url(settings.DATABASES["default"])
        if kura.get("PASSWORD_FILE"):
            # The repository's password: kura reads the file; the password itself never passes here.
            env["KURA_PASSWORD_FILE"] = str(kura["PASSWORD_FILE"])
        media_root = str(getattr(settings, "MEDIA_ROOT", "") or "")
        if not media_root:
            raise ImproperlyConfigured(_("MEDIA_ROOT is not set: Kura backs up the database and MEDIA_ROOT"))
        return cls(
            repository=str(kura["REPOSITORY"]),
            export_dir=str(kura.get("EXPORT_DIR", base / "backups")),
            binary=str(kura.get("BINARY", "kura")),
            keep=dict(kura.get("KEEP", DEFAULT_KEEP)),
            export=export,
            media_root=media_root,
            database_url=url,
            database_name=name,
            environment=env,
            export_encrypt_to=encrypt_to,
            encryption=bool(kura.get("ENCRYPTION", True)),
        )


def database_url(database):
    """(kura database URL, database name, extra environment) for a DATABASES entry."""
    engine = database.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        path = os.path.abspath(str(database["NAME"]))
        return "sqlite://" + quote(path), Path(path).stem, {}
    if engine.endswith("postgresql") or engine.endswith("postgis"):
        name, user = database.get("NAME", ""), database.get("USER", "")
        host, port = str(database.get("HOST", "") or ""), str(database.get("PORT", "") or "")
        env = {"PGPASSWORD": str(database["PASSWORD"])} if database.get("PASSWORD") else {}
        userinfo = quote(user, safe="") + "@" if user else ""
        if host.startswith("/") or not host:
            query = [f"host={quote(host, safe='/')}"] if host else []
            if port:
                query.append(f"port={port}")
            url = f"postgresql://{userinfo}/{quote(name, safe='')}" + ("?" + "&".join(query) if query else "")
        else:
            url = f"postgresql://{userinfo}{host}{':' + port if port else ''}/{quote(name, safe='')}"
        return url, name, env
    raise ImproperlyConfigured(
        _("Kura backs up PostgreSQL and SQLite databases; DATABASES['default'] uses %(engine)s") % {"engine": engine})
