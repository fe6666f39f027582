"""python manage.py backup_data [--dest DIR] [--list] [--verify] [--restore-test]

A snapshot of the database and MEDIA_ROOT into the Kura repository, exported as
backup_complet_<db>_<YYYYMMDD_HHMMSS>.tar.gz + .json into KURA["EXPORT_DIR"] (or --dest), then
KURA["KEEP"] applied to snapshots and archives. Ends with one summary line (for cron mail);
exits non-zero on any failure."""
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from kura_django import operations
from kura_django.runner import Kura, KuraError


class Command(BaseCommand):
    help = "Back up the database and media with Kura (deduplicated), export the documented archive, rotate."

    def add_arguments(self, parser):
        parser.add_argument("--dest", help="export the archive into this folder instead of KURA['EXPORT_DIR']")
        parser.add_argument("--list", action="store_true", help="list snapshots and archives, do not back up")
        parser.add_argument("--verify", action="store_true", help="verify the repository and every archive's hash, do not back up")
        parser.add_argument("--restore-test", action="store_true", help="after the backup, restore it into a scratch database and check it")

    def handle(self, *args, **options):
        translation.activate(settings.LANGUAGE_CODE)
        try:
            kura = Kura()
            if options["list"]:
                return self.list(kura)
            if options["verify"]:
                return self.verify(kura)
            result = operations.backup(kura, dest=options["dest"], restore_test=options["restore_test"],
                                       step=lambda name: self.stderr.write(name + "…") if options["verbosity"] > 1 else None)
            self.stdout.write(result["line"])
            if not result["ok"]:
                sys.exit(12)
        except KuraError as error:
            self.stderr.write(_("Backup FAILED: %(message)s") % {"message": error.message})
            sys.exit(error.code or 1)

    def list(self, kura):
        snapshots, archives = operations.listing(kura)
        self.stdout.write(_("Snapshots (%(count)d):") % {"count": len(snapshots)})
        for snapshot in snapshots:
            summary = snapshot["summary"]
            contents = (_("database %(db)s + ") % {"db": snapshot["database"]} if snapshot.get("database") else "") + \
                _("%(files)d files") % {"files": summary["files_new"] + summary["files_changed"] + summary["files_unchanged"]}
            test = snapshot.get("restore_test")
            tested = (" · " + (_("restore test ok") if test["ok"] else _("restore test FAILED"))) if test else ""
            self.stdout.write(f"  {snapshot['short_id']}  {snapshot['time'][:19].replace('T', ' ')}  "
                              f"{operations.human(summary['total_bytes']):>9}  {contents}{tested}")
        self.stdout.write(_("Archives in %(dir)s (%(count)d):") % {"dir": kura.conf.export_dir, "count": len(archives)})
        for archive in archives:
            self.stdout.write(f"  {archive['name']}  {operations.human(archive['size']):>9}")

    def verify(self, kura):
        failed = 0
        for what, ok, detail in operations.verify(kura):
            failed += not ok
            self.stdout.write(f"  {'ok  ' if ok else 'FAIL'} {what}: {detail}")
        if failed:
            self.stderr.write(_("Verify FAILED: %(count)d problem(s)") % {"count": failed})
            sys.exit(12)
        self.stdout.write(_("Verify OK: repository and every archive"))
