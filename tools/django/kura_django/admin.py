"""The admin "Backups" page: snapshots, "Back up now" (background), archive download (streamed),
media browser with single-file download and restore, verify. Staff may look, back up, download and
verify; restoring a file needs a superuser. Every change is a POST (CSRF-protected) and is written
to the admin log. A full restore is not a button: the page shows the command to run."""
import os
import posixpath
import tempfile

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from . import jobs, operations
from .models import Backup
from .runner import Kura, KuraError


def stream(process, chunk=1 << 20, cleanup=None):
    """Yields a kura process's stdout in 1 MiB pieces; the process is reaped at the end."""
    try:
        while True:
            data = process.stdout.read(chunk)
            if not data:
                break
            yield data
    finally:
        process.stdout.close()
        process.wait()
        if cleanup:
            cleanup()


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("backup-now/", wrap(self.backup_now), name="kura_django_backup_now"),
            path("status/", wrap(self.status), name="kura_django_status"),
            path("verify/", wrap(self.verify), name="kura_django_verify"),
            path("<str:snapshot>/download/", wrap(self.download), name="kura_django_download"),
            path("<str:snapshot>/browse/", wrap(self.browse), name="kura_django_browse"),
            path("<str:snapshot>/file/", wrap(self.file), name="kura_django_file"),
            path("<str:snapshot>/restore-file/", wrap(self.restore_file), name="kura_django_restore_file"),
        ] + super().get_urls()

    # Helpers

    def log(self, request, snapshot, message):
        LogEntry.objects.create(
            user_id=request.user.pk, content_type=ContentType.objects.get_for_model(Backup), object_id=snapshot,
            object_repr=(_("snapshot %(id)s") % {"id": snapshot[:8]}) if snapshot else _("backups"),
            action_flag=CHANGE, change_message=message)

    def context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": _("Backups"), **extra}

    def require_staff(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied

    # Pages

    def changelist_view(self, request, extra_context=None):
        self.require_staff(request)
        kura = Kura()
        try:
            snapshots, archives = operations.listing(kura)
            error = None
        except KuraError as failure:
            snapshots, archives, error = [], [], failure.message
        for snapshot in snapshots:
            summary = snapshot["summary"]
            snapshot["files"] = summary["files_new"] + summary["files_changed"] + summary["files_unchanged"]
            snapshot["size"] = operations.human(summary["total_bytes"])
            snapshot["added"] = operations.human(summary["data_added_stored"])
            snapshot["when"] = snapshot["time"][:19].replace("T", " ")
        for archive in archives:
            archive["human_size"] = operations.human(archive["size"])
        latest = snapshots[-1]["export_name"] if snapshots else "latest"
        try:
            status, status_error = operations.status(kura), None
        except KuraError as failure:
            status, status_error = None, failure.message
        return TemplateResponse(request, "kura_django/backups.html", self.context(
            request, snapshots=list(reversed(snapshots)), archives=archives, error=error, job=jobs.read(kura.conf),
            status=status, status_error=status_error,
            restore_command=f"python manage.py restore_data {latest}", is_superuser=request.user.is_superuser))

    def backup_now(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.require_staff(request)
        if jobs.start():
            self.log(request, "", _("Started a backup from the admin"))
            messages.info(request, _("Backup started: this page shows its progress."))
        else:
            messages.warning(request, _("A backup is already running."))
        return redirect(reverse("admin:kura_django_backup_changelist"))

    def status(self, request):
        self.require_staff(request)
        return JsonResponse(jobs.read(Kura().conf))

    def verify(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.require_staff(request)
        results = operations.verify()
        self.log(request, "", _("Verified the repository and archives: %(result)s") % {
            "result": _("ok") if all(ok for _, ok, _ in results) else _("problems found")})
        return TemplateResponse(request, "kura_django/verify.html", self.context(request, results=results,
                                                                                 title=_("Verify backups")))

    def download(self, request, snapshot):
        self.require_staff(request)
        kura = Kura()
        found = [s for s in kura.snapshots() if snapshot in (s["id"], s["short_id"], s["export_name"])]
        if not found:
            raise Http404(_("No such snapshot"))
        fd, json_path = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        process = kura.popen("export", found[0]["id"], "--output", "-", "--json-to", json_path, *kura.encryption())
        response = StreamingHttpResponse(stream(process, cleanup=lambda: os.path.exists(json_path) and os.remove(json_path)),
                                         content_type="application/gzip")
        suffix = ".tar.gz.age" if kura.conf.export_encrypt_to else ".tar.gz"
        response["Content-Disposition"] = f'attachment; filename="{found[0]["export_name"]}{suffix}"'
        self.log(request, found[0]["id"], _("Downloaded as an archive"))
        return response

    def browse(self, request, snapshot):
        self.require_staff(request)
        folder = request.GET.get("path", "media").strip("/") or "media"
        if not (folder == "media" or folder.startswith("media/")) or ".." in folder.split("/"):
            raise Http404(_("Only media can be browsed"))
        try:
            entries = Kura().ls(snapshot, folder)
        except KuraError as error:
            raise Http404(error.message)
        children = [dict(entry, name=posixpath.basename(entry["path"]), human_size=operations.human(entry["size"]))
                    for entry in entries if posixpath.dirname(entry["path"]) == folder]
        parent = posixpath.dirname(folder) if folder != "media" else None
        return TemplateResponse(request, "kura_django/browse.html", self.context(
            request, snapshot=snapshot, folder=folder, parent=parent, entries=children,
            is_superuser=request.user.is_superuser, title=_("Snapshot %(id)s: %(folder)s") % {"id": snapshot[:8], "folder": folder}))

    def file(self, request, snapshot):
        self.require_staff(request)
        relative = request.GET.get("path", "")
        if not relative.startswith("media/") or ".." in relative.split("/"):
            raise Http404(_("Only media files can be downloaded"))
        process = Kura().popen("cat", snapshot, relative)
        response = StreamingHttpResponse(stream(process), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{posixpath.basename(relative)}"'
        return response

    def restore_file(self, request, snapshot):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.is_superuser:
            raise PermissionDenied
        relative = request.POST.get("path", "")
        if not relative.startswith("media/") or ".." in relative.split("/"):
            raise Http404(_("Only media files can be restored"))
        kura = Kura()
        try:
            report = kura.json("restore", snapshot, "--media-to", kura.conf.media_root, "--include", "/" + relative, "--force")
            restored = (report.get("media") or {}).get("files", 0)
            messages.success(request, _("Restored %(path)s to MEDIA_ROOT (%(count)d file).") % {"path": relative, "count": restored})
            self.log(request, snapshot, _("Restored %(path)s to MEDIA_ROOT") % {"path": relative})
        except KuraError as error:
            messages.error(request, _("Restore failed: %(message)s") % {"message": error.message})
        return redirect(reverse("admin:kura_django_browse", args=[snapshot]) + "?path=" + posixpath.dirname(relative))
