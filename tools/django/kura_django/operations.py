"""What the commands and the admin page do, in one place: back up (+ export + rotation), list,
verify, restore. Each returns data; the callers print or render it."""
import os

from django.db import connections
from django.utils.translation import gettext as _

from . import rotation
from .runner import Kura, KuraError


def human(size):
    size = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def backup(kura=None, dest=None, restore_test=False, step=lambda name: None):
    """Snapshot, then export (unless EXPORT is "none"), then KEEP on snapshots and archives.
    Returns a dict with the snapshot, archive, removals and a one-line summary."""
    kura = kura or Kura()
    conf = kura.conf
    step(_("backing up"))
    kura.ensure_repository()
    notices = []
    if not kura.media_exists():
        # A fresh site with no upload yet still has a database to protect.
        notices.append(_("no media folder yet (%(path)s): database only") % {"path": conf.media_root})
    report = kura.backup()
    snapshot = report["snapshot_id"]
    summary = report["summary"]
    result = {"snapshot": snapshot, "summary": summary, "archive": None, "removed_archives": [], "forgotten": 0}
    if conf.export != "none" or dest:
        step(_("exporting"))
        result["archive"] = kura.export(snapshot, dest or conf.export_dir)
    if conf.keep:
        step(_("applying retention"))
        forget = kura.forget(conf.keep) or {}
        result["forgotten"] = sum(len(group["remove"]) for group in forget.get("groups", []))
        result["removed_archives"] = rotation.rotate(dest or conf.export_dir, conf.database_name, conf.keep)
    if restore_test:
        step(_("restore test"))
        test = kura.restore_test(snapshot) or {}
        result["restore_test"] = test
    parts = [_("snapshot %(id)s: %(added)s added of %(total)s") % {
        "id": snapshot[:8], "added": human(summary["data_added_stored"]), "total": human(summary["total_bytes"])}]
    if result["archive"]:
        parts.append(_("archive %(name)s") % {"name": os.path.basename(result["archive"])})
    if result["forgotten"] or result["removed_archives"]:
        parts.append(_("%(snapshots)d snapshot(s) and %(archives)d archive(s) rotated out") % {
            "snapshots": result["forgotten"], "archives": len(result["removed_archives"])})
    if restore_test:
        parts.append(_("restore test passed") if result["restore_test"].get("ok") else _("restore test FAILED"))
    parts += notices
    result["ok"] = not restore_test or bool(result["restore_test"].get("ok"))
    details = "; ".join(parts)
    result["line"] = (_("Backup OK: %(details)s") if result["ok"] else _("Backup saved, but: %(details)s")) % {"details": details}
    return result


def listing(kura=None):
    """(snapshots, archives) for --list and the admin page."""
    kura = kura or Kura()
    snapshots = kura.snapshots() if kura.has_repository() else []
    archives = [{"name": os.path.basename(path), "path": path, "time": when, "size": os.path.getsize(path)}
                for when, path in rotation.archives(kura.conf.export_dir)]
    return snapshots, archives


def verify(kura=None):
    """[(what, ok, detail)] for the repository and every archive in EXPORT_DIR."""
    kura = kura or Kura()
    results = []
    report = kura.verify() or {"ok": False, "errors": [_("no report")]}
    results.append((_("repository"), report["ok"], "; ".join(report.get("errors", [])) or _("no errors found")))
    for archive in listing(kura)[1]:
        found = kura.verify_archive(archive["path"]) or {"ok": False, "findings": [_("no report")]}
        checked = _("hash, gzip, tar and dump ok") if found.get("content_checked", True) else _("hash ok (encrypted: content checked where the key is)")
        results.append((archive["name"], found["ok"], "; ".join(found.get("findings", [])) or checked))
    return results


def resolve(reference, kura=None):
    """An archive path (file name in EXPORT_DIR, absolute or relative path) or a snapshot reference."""
    kura = kura or Kura()
    candidates = [reference, os.path.join(kura.conf.export_dir, reference),
                  os.path.join(kura.conf.export_dir, reference + ".tar.gz"),
                  os.path.join(kura.conf.export_dir, reference + ".tar.gz.age")]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return reference


def restore(reference, kura=None):
    """Restores the database and MEDIA_ROOT (kura takes its pre-restore safety snapshot first) and
    returns kura's report. Django's own connections are closed first: the database is replaced."""
    kura = kura or Kura()
    target = resolve(reference, kura)
    connections.close_all()
    return kura.json("restore", target, "--database", kura.conf.database_url, "--media-to", kura.conf.media_root, "--force")


__all__ = ["backup", "listing", "verify", "resolve", "restore", "human", "KuraError"]
