"""kura_django with the real kura binary, a real database (SQLite, or PostgreSQL when
EXAMPLE_DATABASE=postgresql) and real files. Run by tools/django/test (called by tools/test)."""
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client, SimpleTestCase, TransactionTestCase, override_settings

from kura_django import jobs, rotation
from kura_django.conf import database_url
from kura_django.runner import Kura
from school.models import Payment, Student


class SiteTestCase(TransactionTestCase):
    """Each test gets its own repository, export folder, media folder and kura cache. With
    EXAMPLE_REMOTE_REPOSITORY (an s3:… URL; tools/django/test sets it when SeaweedFS runs) the
    repository is a new prefix there instead of a folder."""

    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="kura-django-test-"))
        self.media = self.root / "media"
        remote = os.environ.get("EXAMPLE_REMOTE_REPOSITORY")
        repository = f"{remote}/{self.root.name}" if remote else str(self.root / "repo")
        password = self.root / "password"
        password.write_text("django test password\n")
        password.chmod(0o600)
        kura = dict(settings.KURA, REPOSITORY=repository, EXPORT_DIR=str(self.root / "backups"), PASSWORD_FILE=str(password))
        self.settings_override = override_settings(MEDIA_ROOT=str(self.media), KURA=kura)
        self.settings_override.enable()
        self.environment = mock.patch.dict(os.environ, {"KURA_CACHE": str(self.root / "cache")})
        self.environment.start()
        for index in range(3):
            photo = f"profile_photos/student_{index}.jpg"
            receipt = f"payment_receipts/reçu {index}.pdf"
            for relative, size in ((photo, 40_000 + index), (receipt, 9_000 + index)):
                (self.media / relative).parent.mkdir(parents=True, exist_ok=True)
                (self.media / relative).write_bytes(os.urandom(size))
            student = Student.objects.create(name=f"Élève {index}", photo=photo)
            Payment.objects.create(student=student, amount=Decimal("12.50") * (index + 1), paid_on=date(2026, 1, 1 + index),
                                   receipt=receipt)

    def tearDown(self):
        jobs.wait()
        self.environment.stop()
        self.settings_override.disable()
        shutil.rmtree(self.root, ignore_errors=True)

    def fingerprint(self):
        connection.close()
        rows = [(s.name, s.photo.name) for s in Student.objects.order_by("name")]
        rows += [(p.student.name, str(p.amount), p.paid_on.isoformat(), p.receipt.name) for p in Payment.objects.order_by("paid_on")]
        files = sorted((str(path.relative_to(self.media)), hashlib.sha256(path.read_bytes()).hexdigest())
                       for path in self.media.rglob("*") if path.is_file())
        return rows, files

    def lose_everything(self, drop_database=False):
        """The site loses its data: rows deleted (or the whole database), media deleted."""
        if drop_database:
            connection.close()
            if connection.vendor == "sqlite":
                os.remove(settings.DATABASES["default"]["NAME"])
            else:
                with connection.cursor() as cursor:
                    cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                connection.close()
        else:
            Payment.objects.all().delete()
            Student.objects.all().delete()
        shutil.rmtree(self.media)

    def backup(self, *args):
        # Archive names carry the time to the second: two backups never share one.
        time.sleep(max(0.0, 1.05 - (time.time() - getattr(self, "last_backup", 0))))
        self.last_backup = time.time()
        out, err = io.StringIO(), io.StringIO()
        call_command("backup_data", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def archives(self):
        return sorted((self.root / "backups").glob("backup_complet_*.tar.gz"))


class BackupDataTests(SiteTestCase):
    def test_backup_exports_the_documented_archive(self):
        out, _ = self.backup()
        self.assertTrue(out.startswith("Backup OK: snapshot "), out)
        self.assertEqual(len(out.strip().splitlines()), 1, "one summary line for cron mail")
        [archive] = self.archives()
        manifest = json.loads(archive.with_name(archive.name.replace(".tar.gz", ".json")).read_text())
        self.assertEqual(list(manifest)[:9], ["backup_file", "timestamp", "datetime", "database", "type", "size_mb", "hash",
                                              "includes", "status"])
        self.assertEqual(manifest["hash"], hashlib.sha256(archive.read_bytes()).hexdigest())
        self.assertEqual(manifest["status"], "completed")
        with tarfile.open(archive) as tar:
            names = tar.getnames()
        database = settings.DATABASES["default"]
        dump = f"database_{Path(str(database['NAME'])).stem if connection.vendor == 'sqlite' else database['NAME']}"
        self.assertTrue(any(name.startswith(dump) for name in names), names)
        self.assertIn("media/payment_receipts/reçu 1.pdf", names)

    def test_a_fresh_site_without_media_root_backs_up_its_database(self):
        shutil.rmtree(self.media)  # no upload yet: Django creates MEDIA_ROOT on the first one
        out, err = self.backup()
        self.assertTrue(out.startswith("Backup OK: snapshot "), out + err)
        self.assertIn("no media folder yet", out)
        self.assertEqual(len(out.strip().splitlines()), 1, "one summary line for cron mail")
        [archive] = self.archives()
        with tarfile.open(archive) as tar:
            names = tar.getnames()
        self.assertTrue(any(name.startswith("database_") for name in names), names)
        self.assertFalse(any(name.startswith("media/") for name in names), names)

    def test_exports_are_owner_only(self):
        previous = os.umask(0o022)
        try:
            self.backup()
        finally:
            os.umask(previous)
        [archive] = self.archives()
        for path in (archive, archive.with_name(archive.name.replace(".tar.gz", ".json")), archive.parent):
            self.assertEqual(path.stat().st_mode & 0o077, 0, f"{path} is readable by others: {oct(path.stat().st_mode)}")

    def test_list_and_verify(self):
        self.backup()
        out, _ = self.backup("--list")
        self.assertIn("Snapshots (1):", out)
        self.assertIn(self.archives()[0].name, out)
        out, _ = self.backup("--verify")
        self.assertIn("Verify OK", out)
        # A damaged archive fails --verify with a non-zero exit.
        with open(self.archives()[0], "r+b") as file:
            file.seek(100)
            file.write(b"\x00\x01\x02")
        with self.assertRaises(SystemExit) as failed:
            self.backup("--verify")
        self.assertEqual(failed.exception.code, 12)

    def test_archives_encrypted_to_an_age_key(self):
        if not shutil.which("age-keygen"):
            self.skipTest("Debian's age is not installed (tools/test installs it)")
        key = self.root / "key.txt"
        subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
        recipient = next(line.split(": ")[1] for line in key.read_text().splitlines() if line.startswith("# public key: "))
        with override_settings(KURA=dict(settings.KURA, EXPORT_ENCRYPT_TO=recipient)):
            out, _ = self.backup()
            self.assertTrue(out.startswith("Backup OK: snapshot "), out)
            [archive] = sorted((self.root / "backups").glob("backup_complet_*.tar.gz.age"))
            self.assertEqual(self.archives(), [], "no plaintext archive")
            manifest = json.loads(Path(rotation.manifest(str(archive))).read_text())
            self.assertEqual((manifest["backup_file"], manifest["encryption"]), (archive.name, "age"))
            self.assertEqual(manifest["hash"], hashlib.sha256(archive.read_bytes()).hexdigest())
            opened = subprocess.run(["age", "-d", "-i", str(key), str(archive)], check=True, capture_output=True).stdout
            with tarfile.open(fileobj=io.BytesIO(opened)) as tar:
                self.assertIn("media/payment_receipts/reçu 1.pdf", tar.getnames())
            # The server holds no key: --verify checks the hash and says the content is checked elsewhere.
            out, _ = self.backup("--verify")
            self.assertIn("Verify OK", out)
            out, _ = self.backup("--list")
            self.assertIn(archive.name, out)
        with self.assertRaises(ImproperlyConfigured):
            with override_settings(KURA=dict(settings.KURA, EXPORT_ENCRYPT_TO=["ssh-ed25519 AAAA"])):
                self.backup()

    def test_restore_test_after_the_backup(self):
        out, _ = self.backup("--restore-test")
        self.assertIn("restore test passed", out)
        out, _ = self.backup("--list")
        self.assertIn("restore test ok", out)
        page = Client()
        page.force_login(User.objects.create_user("viewer", password="pw", is_staff=True))
        self.assertContains(page.get("/admin/kura_django/backup/"), "✔ ok")

    def test_backup_data_is_a_kura_run(self):
        out, err = self.backup("-v", "2")
        self.assertTrue(out.startswith("Backup OK: snapshot "), out)
        status = Kura().status()
        run = status["last_run"]
        self.assertEqual([step["name"] for step in run["steps"]], ["backup", "copy", "forget", "prune", "verify", "restore_test", "export"])
        self.assertEqual(run["exit_code"], 0)
        self.assertIn("backup: ok", err, "each line of kura run's log is a step on the way")
        # The kura.toml written from the KURA dict is owner-only and passes `kura config check`.
        config = Path(Kura().config_path())
        self.assertEqual(config.stat().st_mode & 0o077, 0)
        self.assertIn("[[database]]", config.read_text())
        Kura().run("config", "check", "--config", str(config))

    def test_a_kura_toml_describes_the_night(self):
        url, _, env = database_url(settings.DATABASES["default"])
        repository = settings.KURA["REPOSITORY"]
        config = self.root / "kura.toml"
        config.write_text(f"""repository = "{repository}"
password_file = "{settings.KURA['PASSWORD_FILE']}"
media = "{self.media}"

[[database]]
url = "{url}"

[export]
folder = "{self.root / 'nightly'}"
keep = 2
""")
        with override_settings(KURA={"CONFIG": str(config), "BINARY": settings.KURA["BINARY"]}):
            with mock.patch.dict(os.environ, env):
                out, _ = self.backup()
                self.assertTrue(out.startswith("Backup OK: snapshot "), out)
                self.assertEqual(len(list((self.root / "nightly").glob("backup_complet_*.tar.gz"))), 1)
                self.assertEqual(Kura().status()["verdict"], "OK")

    def test_dest_and_retention(self):
        self.backup("--dest", str(self.root / "elsewhere"))
        self.assertEqual(len(list((self.root / "elsewhere").glob("*.tar.gz"))), 1)
        self.assertEqual(self.archives(), [])

    def test_french(self):
        with override_settings(LANGUAGE_CODE="fr"):
            out, _ = self.backup()
            self.assertTrue(out.startswith("Sauvegarde OK : instantané "), out)
            out, _ = self.backup("--list")
            self.assertIn("Instantanés (1) :", out)


class RestoreDataTests(SiteTestCase):
    def restore(self, *args):
        out, err = io.StringIO(), io.StringIO()
        call_command("restore_data", *args, stdout=out, stderr=err)
        return out.getvalue()

    def test_restore_from_a_file_name_a_relative_path_and_latest(self):
        self.backup()
        source = self.fingerprint()
        archive = self.archives()[0]

        self.lose_everything(drop_database=True)
        out = self.restore(archive.name, "--force")
        self.assertIn("Restore OK", out)
        self.assertEqual(self.fingerprint(), source)

        self.lose_everything()
        self.restore(os.path.relpath(archive, os.getcwd()), "--force")
        self.assertEqual(self.fingerprint(), source)

        self.lose_everything()
        out = self.restore("latest", "--force")
        self.assertIn("pre-restore", out)
        self.assertEqual(self.fingerprint(), source)

    def test_refuses_without_force_on_a_non_terminal(self):
        self.backup()
        Payment.objects.all().delete()
        before = self.fingerprint()
        with mock.patch("sys.stdin", io.StringIO("y\n")), self.assertRaises(SystemExit) as refused:
            self.restore("latest")
        self.assertEqual(refused.exception.code, 13)
        self.assertEqual(self.fingerprint(), before)


class AdminPageTests(SiteTestCase):
    url = "/admin/kura_django/backup/"

    def setUp(self):
        super().setUp()
        self.staff = User.objects.create_user("staff", password="pw", is_staff=True)
        self.superuser = User.objects.create_superuser("root", password="pw")

    def client_for(self, user, **options):
        client = Client(**options)
        client.force_login(user)
        return client

    def test_anonymous_is_sent_to_login(self):
        response = Client().get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn("/admin/login/", response["Location"])

    def test_staff_lists_downloads_and_backs_up(self):
        self.backup()
        staff = self.client_for(self.staff)
        page = staff.get(self.url)
        self.assertEqual(page.status_code, 200)
        snapshot = json.loads((self.archives()[0].with_suffix("").with_suffix(".json")).read_text())["snapshot"]
        self.assertContains(page, snapshot)
        self.assertContains(page, "python manage.py restore_data backup_complet_")
        # The download is streamed and is the very archive `kura export` writes.
        download = staff.get(f"{self.url}{snapshot}/download/")
        self.assertTrue(download.streaming)
        body = b"".join(download.streaming_content)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(self.archives()[0].read_bytes()).hexdigest())
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            self.assertIn("media/profile_photos/student_2.jpg", tar.getnames())
        # Back up now: a POST, in the background; the status shows the result.
        time.sleep(1.05)
        response = staff.post(f"{self.url}backup-now/")
        self.assertEqual(response.status_code, 302)
        jobs.wait()
        status = staff.get(f"{self.url}status/").json()
        self.assertEqual((status["state"], status["ok"]), ("done", True), status)
        self.assertTrue(LogEntry.objects.filter(user=self.staff, change_message__contains="Started a backup").exists())
        # Staff may not restore.
        self.assertEqual(staff.post(f"{self.url}{snapshot}/restore-file/", {"path": "media/profile_photos/student_1.jpg"}).status_code, 403)

    def test_status_panel_shows_the_verdict_and_the_last_nights(self):
        staff = self.client_for(self.staff)
        self.assertContains(staff.get(self.url), "No repository yet")
        Kura().ensure_repository()
        page = staff.get(self.url)
        self.assertContains(page, 'kura-verdict kura-verdict-critical">CRITICAL<')
        self.assertContains(page, "no backup of")
        self.backup()
        page = staff.get(self.url)
        self.assertContains(page, 'kura-verdict kura-verdict-ok">OK<')
        self.assertContains(page, str(self.media))
        self.assertContains(page, 'class="kura-night"', count=7)
        self.assertRegex(page.content.decode(), r'kura-bar-bytes" style="height:100%"')

    def test_a_backup_whose_process_died_reads_as_interrupted(self):
        conf = Kura().conf
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(jobs.state_path(conf), "w") as file:
            json.dump({"state": "running", "step": "backup", "started": time.time(), "pid": dead.pid,
                       "host": socket.gethostname()}, file)
        status = self.client_for(self.staff).get(f"{self.url}status/").json()
        self.assertEqual((status["state"], status["ok"]), ("done", False), status)
        self.assertIn("Interrupted", status["line"])
        # A live process on this host (the test runner's parent) still reads as running.
        with open(jobs.state_path(conf), "w") as file:
            json.dump({"state": "running", "step": "backup", "started": time.time(), "pid": os.getppid(),
                       "host": socket.gethostname()}, file)
        self.assertEqual(self.client_for(self.staff).get(f"{self.url}status/").json()["state"], "running")
        os.remove(jobs.state_path(conf))

    def test_superuser_restores_one_file(self):
        self.backup()
        lost = self.media / "payment_receipts/reçu 1.pdf"
        original = lost.read_bytes()
        lost.unlink()
        root = self.client_for(self.superuser)
        page = root.get(f"{self.url}latest/browse/?path=media/payment_receipts")
        self.assertContains(page, "reçu 1.pdf")
        response = root.post(f"{self.url}latest/restore-file/", {"path": "media/payment_receipts/reçu 1.pdf"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(lost.read_bytes(), original)
        self.assertTrue(LogEntry.objects.filter(user=self.superuser, change_message__contains="reçu 1.pdf").exists())
        file = root.get(f"{self.url}latest/file/?path=media/payment_receipts/reçu 1.pdf")
        self.assertEqual(b"".join(file.streaming_content), original)

    def test_posts_need_the_csrf_token(self):
        strict = self.client_for(self.superuser, enforce_csrf_checks=True)
        self.assertEqual(strict.post(f"{self.url}backup-now/").status_code, 403)
        self.assertEqual(strict.get(f"{self.url}backup-now/").status_code, 405)


class SettingsTests(SimpleTestCase):
    def test_database_urls(self):
        self.assertEqual(database_url({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/site/db.sqlite3"})[:2],
                         ("sqlite:///srv/site/db.sqlite3", "db"))
        url, name, env = database_url({"ENGINE": "django.db.backends.postgresql", "NAME": "site", "USER": "web",
                                       "PASSWORD": "s3cret", "HOST": "db.example.org", "PORT": "5433"})
        self.assertEqual((url, name, env), ("postgresql://web@db.example.org:5433/site", "site", {"PGPASSWORD": "s3cret"}))
        self.assertNotIn("s3cret", url, "the password goes through the environment only")
        url, _, _ = database_url({"ENGINE": "django.db.backends.postgresql", "NAME": "site", "HOST": "/run/postgresql"})
        self.assertEqual(url, "postgresql:///site?host=/run/postgresql")
        with self.assertRaisesMessage(ImproperlyConfigured, "django.db.backends.mysql"):
            database_url({"ENGINE": "django.db.backends.mysql", "NAME": "x"})

    def test_archive_rotation_follows_kura_forget(self):
        times = [datetime(2026, 12, 31, 2) - timedelta(days=day) for day in range(365)]
        kept = sorted(times[index].date().isoformat() for index in rotation.plan(times, {"daily": 7, "weekly": 4, "monthly": 12}))
        self.assertEqual(len(kept), 20)
        self.assertEqual(kept[:3], ["2026-01-31", "2026-02-28", "2026-03-31"])
        self.assertEqual(kept[-9:], ["2026-12-13", "2026-12-20", "2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28",
                                     "2026-12-29", "2026-12-30", "2026-12-31"])
