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
    # Every DATABASES entry Kura can back up: [(alias, url)]; the first is "default".
    databases: list = field(default_factory=list)
    # KURA["CONFIG"]: a kura.toml that describes the night instead of this dict (kura run reads it).
    config: str = ""
    # The repository's password file (KURA["PASSWORD_FILE"]), if any.
    password_file: str = ""

    @property
    def remote(self):
        """True for a repository in object storage or on an rclone remote (s3:…, rclone:…)."""
        return self.repository.startswith(("s3:", "rclone:"))

    @classmethod
    def load(cls):
        kura = dict(getattr(settings, "KURA", {}))
        if kura.get("CONFIG"):
            # A kura.toml describes the night: the repository and its password come from it.
            kura = {**read_toml(str(kura["CONFIG"])), **kura}
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
        databases = [("default", url)]
        for alias, database in settings.DATABASES.items():
            if alias != "default" and database.get("ENGINE", "").endswith(("sqlite3", "postgresql", "postgis")):
                other, _name, other_env = database_url(database)
                databases.append((alias, other))
                for key, value in other_env.items():
                    env.setdefault(key, value)
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
            databases=databases,
            config=str(kura.get("CONFIG", "") or ""),
            password_file=str(kura.get("PASSWORD_FILE", "") or ""),
        )

    def toml(self, export_dir=None, media=True):
        """The kura.toml `kura run` follows for this dict: the repository, every database, MEDIA_ROOT
        (when it exists), KEEP as [retention] (pruned each night), the export into EXPORT_DIR (the
        app rotates the archives with KEEP itself), age recipients."""
        lines = [f"repository = {toml_string(self.repository)}"]
        if self.password_file:
            lines.append(f"password_file = {toml_string(self.password_file)}")
        if media:
            lines.append(f"media = {toml_string(self.media_root)}")
        for alias, url in self.databases:
            lines += ["", "[[database]]", f"name = {toml_string(alias)}", f"url = {toml_string(url)}"]
        keep = {unit: int(count) for unit, count in self.keep.items() if count}
        if keep:
            lines += ["", "[retention]"] + [f"keep_{unit} = {count}" for unit, count in keep.items()] + ['prune = "always"']
        if export_dir or self.export != "none":
            lines += ["", "[export]", f"folder = {toml_string(export_dir or self.export_dir)}", "keep = 0"]
            if self.export_encrypt_to:
                lines.append("encrypt_to = [" + ", ".join(toml_string(r) for r in self.export_encrypt_to) + "]")
        return "\n".join(lines) + "\n"


def read_toml(path):
    """REPOSITORY and PASSWORD_FILE from a kura.toml (kura itself checks the rest)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11: KURA["REPOSITORY"] must be given beside KURA["CONFIG"]
        return {}
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(_('settings.KURA["CONFIG"]: cannot read %(path)s: %(error)s') % {"path": path, "error": error})
    found = {"REPOSITORY": data.get("repository")}
    if data.get("password_file"):
        found["PASSWORD_FILE"] = data["password_file"]
    return {key: value for key, value in found.items() if value}


def toml_string(text):
    """A TOML basic string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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
