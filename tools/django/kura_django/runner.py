"""Runs the `kura` binary: arguments as a list (no shell), passwords only in the environment."""
import json
import os
import subprocess
import tempfile

from .conf import KuraSettings


class KuraError(Exception):
    """kura exited with a non-zero code; `message` is its one-line error."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Kura:
    def __init__(self, conf: KuraSettings = None):
        self.conf = conf or KuraSettings.load()

    def environment(self):
        env = dict(os.environ)
        env.update(self.conf.environment)
        env["KURA_REPO"] = self.conf.repository
        return env

    def run(self, *args, check=True):
        """Runs kura; returns (exit code, stdout, stderr)."""
        process = subprocess.run([self.conf.binary, *args], env=self.environment(), capture_output=True, text=True)
        if check and process.returncode != 0:
            lines = [line for line in process.stderr.splitlines() if line.strip()]
            raise KuraError(process.returncode, lines[-1] if lines else f"kura {args[0]} exited with {process.returncode}")
        return process.returncode, process.stdout, process.stderr

    def json(self, *args, check=True):
        code, out, err = self.run(*args, "--json", check=check)
        return json.loads(out) if out.strip() else None

    def popen(self, *args, **kwargs):
        """Starts kura with its stdout as a pipe (for streaming an export or a file)."""
        return subprocess.Popen([self.conf.binary, *args], env=self.environment(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kwargs)

    def has_repository(self):
        """True when the repository exists (a folder's config, or a remote that answers)."""
        if not self.conf.remote:
            return os.path.exists(os.path.join(self.conf.repository, "config"))
        code, _, _ = self.run("snapshots", "--json", check=False)
        if code not in (0, 10):
            self.run("snapshots", "--json")  # raises with kura's one-line error
        return code == 0

    def ensure_repository(self):
        if not self.has_repository():
            self.run("init", *([] if self.conf.encryption else ["--no-encryption"]))

    # The commands the app uses.

    def snapshots(self):
        return self.json("snapshots") or []

    def media_exists(self):
        """False on a fresh site whose MEDIA_ROOT was never created (no upload yet)."""
        return os.path.isdir(self.conf.media_root)

    def backup(self, tags=("nightly",)):
        args = ["backup", "--database", self.conf.database_url]
        if self.media_exists():
            args += ["--media", self.conf.media_root]
        for tag in tags:
            args += ["--tag", tag]
        return self.json(*args)

    def export(self, snapshot, directory):
        # Owner-only, as kura makes the archives: they hold the whole database and every receipt.
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return self.json("export", snapshot, "--output", directory, *self.encryption()).get("archive")

    def encryption(self):
        """`--encrypt-to` for each of KURA["EXPORT_ENCRYPT_TO"] (public keys: fine on a command line)."""
        return [argument for recipient in self.conf.export_encrypt_to for argument in ("--encrypt-to", recipient)]

    def forget(self, keep):
        args = ["forget", "--prune"]
        for unit in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
            if keep.get(unit):
                args += [f"--keep-{unit}", str(keep[unit])]
        return self.json(*args)

    def config_path(self, export_dir=None):
        """KURA["CONFIG"], or the kura.toml written from the KURA dict (owner-only, replaced
        atomically each time, beside the repository or in the export folder for a remote one)."""
        if self.conf.config:
            return self.conf.config
        if self.conf.remote:
            os.makedirs(self.conf.export_dir, mode=0o700, exist_ok=True)
            folder = self.conf.export_dir
        else:
            folder = os.path.dirname(os.path.abspath(self.conf.repository))
        path = os.path.join(folder, ".kura-django.toml")
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".kura-django-")
        with os.fdopen(fd, "w") as file:
            file.write(self.conf.toml(export_dir, media=self.media_exists()))
        os.replace(temporary, path)
        return path

    def night(self, export_dir=None, restore_test=False, on_line=lambda line: None):
        """`kura run`: the night the configuration describes. Returns its run record; each line of
        its log goes to `on_line` as it is said."""
        args = [self.conf.binary, "run", "--config", self.config_path(export_dir), "--json"]
        if restore_test:
            args.append("--restore-test")
        process = subprocess.Popen(args, env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        log = []
        for line in process.stderr:
            line = line.rstrip("\n")
            log.append(line)
            on_line(line)
        out = process.stdout.read()
        process.wait()
        if not out.strip():
            errors = [line for line in log if line.startswith("kura: error: ")]
            raise KuraError(process.returncode, errors[-1][len("kura: error: "):] if errors else (log[-1] if log else "kura run failed"))
        return json.loads(out)

    def status(self):
        """`kura status --json` for the site's configuration (None when there is no repository yet)."""
        if not self.has_repository():
            return None
        code, out, err = self.run("status", "--config", self.config_path(), "--json", check=False)
        if not out.strip():
            lines = [line for line in err.splitlines() if line.strip()]
            raise KuraError(code, lines[-1] if lines else f"kura status exited with {code}")
        return json.loads(out)

    def verify(self):
        return self.json("verify", check=False)

    def verify_archive(self, path):
        return self.json("verify", path, check=False)

    def restore_test(self, snapshot="latest"):
        return self.json("verify", "--restore-test", snapshot, check=False)

    def ls(self, snapshot, path="media"):
        return self.json("ls", snapshot, path) or []
