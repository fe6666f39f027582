"""python manage.py restore_data ARCHIVE_OR_SNAPSHOT [--force]

Restores the database and MEDIA_ROOT from an archive (a file name in KURA["EXPORT_DIR"], an
absolute or relative path) or a snapshot (latest, an id, an export name). Asks first (default no)
unless --force; refuses on a non-terminal without --force. Kura saves what it replaces as a
pre-restore snapshot, checks every table's row count, and the result is printed."""
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from kura_django import operations
from kura_django.runner import Kura, KuraError


class Command(BaseCommand):
    help = "Restore the database and media from a Kura snapshot or an exported archive."

    def add_arguments(self, parser):
        parser.add_argument("source", help="archive file name or path, or snapshot (latest, id, export name)")
        parser.add_argument("--force", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, **options):
        translation.activate(settings.LANGUAGE_CODE)
        kura = Kura()
        source = operations.resolve(options["source"], kura)
        question = _("This replaces the database %(db)s and the files in %(media)s with %(source)s. Continue? [y/N] ") % {
            "db": kura.conf.database_name, "media": kura.conf.media_root, "source": source}
        if not options["force"]:
            if not sys.stdin.isatty():
                self.stderr.write(_("Restore refused: not on a terminal; pass --force to restore without confirmation"))
                sys.exit(13)
            if input(question).strip().lower() not in ("y", "yes", "o", "oui"):
                self.stderr.write(_("Restore cancelled: nothing was changed"))
                sys.exit(13)
        try:
            report = operations.restore(source, kura)
        except KuraError as error:
            self.stderr.write(_("Restore FAILED: %(message)s") % {"message": error.message})
            sys.exit(error.code or 1)
        tables = report.get("database_tables", [])
        rows = sum(table["rows"] for table in tables)
        media = report.get("media") or {}
        if report.get("safety_snapshot"):
            self.stdout.write(_("What was replaced is saved as snapshot %(id)s (tag pre-restore)") % {"id": report["safety_snapshot"][:8]})
        self.stdout.write(_("Restore OK from %(source)s: database %(db)s, %(tables)d tables, %(rows)d rows, row counts match the backup; "
                            "%(files)d media files") % {"source": source, "db": kura.conf.database_name, "tables": len(tables),
                                                        "rows": rows, "files": media.get("files", 0)})
