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
    """The night, by `kura run` (kura.toml: KURA["CONFIG"], or written from the KURA dict): the
    snapshot, the export, KEEP on snapshots (forget + prune) and on archives, the restore test with
    --restore-test. Returns a dict with the snapshot, archive, removals, the run record and a
    one-line summary; raises KuraError with the failed step's message when a step other than the
    restore test failed."""
    kura = kura or Kura()
    conf = kura.conf
    step(_("backing up"))
    kura.ensure_repository()
    notices = []
    if not kura.media_exists():
        # A fresh site with no upload yet still has a database to protect.
        notices.append(_("no media folder yet (%(path)s): database only") % {"path": conf.media_root})
    record = kura.night(export_dir=dest, restore_test=restore_test, on_line=step)
    steps = {item["name"]: item for item in record["steps"]}
    failed = [item for item in record["steps"] if item["status"] == "failed" and item["name"] != "restore_test"]
    if failed:
        raise KuraError(record["exit_code"] or 1, f"{failed[0]['name']}: {failed[0]['message']}")
    backup_step = steps["backup"]
    summary = {"data_added_stored": backup_step["figures"].get("bytes_added_stored", 0),
               "total_bytes": backup_step["figures"].get("total_bytes", 0)}
    snapshot = backup_step["produced"]
    export = steps.get("export", {})
    forget = steps.get("forget", {})
    result = {"snapshot": snapshot, "summary": summary, "archive": export.get("produced") if export.get("status") == "ok" else None,
              "removed_archives": [], "forgotten": int(forget.get("figures", {}).get("removed", 0)), "record": record}
    if conf.keep and (conf.export != "none" or dest):
        result["removed_archives"] = rotation.rotate(dest or conf.export_dir, conf.database_name, conf.keep)
    if restore_test:
        test = steps.get("restore_test", {})
        result["restore_test"] = {"ok": test.get("status") == "ok", "message": test.get("message", "")}
    parts = [_("snapshot %(id)s: %(added)s added of %(total)s") % {
        "id": snapshot[:8], "added": human(summary["data_added_stored"]), "total": human(summary["total_bytes"])}]
    if result["archive"]:
        parts.append(_("archive %(name)s") % {"name": os.path.basename(result["archive"])})
    if result["forgotten"] or result["removed_archives"]:
        parts.append(_("%(snapshots)d snapshot(s) and %(archives)d archive(s) rotated out") % {
            "snapshots": result["forgotten"], "archives": len(result["removed_archives"])})
    if restore_test:
        parts.append(_("restore test passed") if result["restore_test"]["ok"] else _("restore test FAILED"))
    parts += notices
    result["ok"] = not restore_test or result["restore_test"]["ok"]
    details = "; ".join(parts)
    result["line"] = (_("Backup OK: %(details)s") if result["ok"] else _("Backup saved, but: %(details)s")) % {"details": details}
    return result


def status(kura=None):
    """`kura status` made ready for the admin page: the verdict, its problems, each source's last
    backup, and the last 7 nights as bars (bytes added, backup time) scaled to the tallest."""
    kura = kura or Kura()
    found = kura.status()
    if found is None:
        return None
    nights = found.get("nights", [])
    most_bytes = max([night["bytes_added"] for night in nights] + [1])
    most_seconds = max([night["seconds"] for night in nights] + [0.001])
    found["bars"] = [{
        "date": night["date"][5:], "snapshots": night["snapshots"],
        "bytes": human(night["bytes_added"]), "seconds": f"{night['seconds']:.1f}" if night["seconds"] >= 1 else f"{night['seconds']:.2f}",
        "bytes_height": round(100 * night["bytes_added"] / most_bytes), "seconds_height": round(100 * night["seconds"] / most_seconds),
    } for night in nights]
    for source in found.get("sources", []):
        age = source.get("age_hours")
        source["age"] = (_("%(hours)d h ago") % {"hours": round(age)}) if age is not None and age >= 1 else \
            (_("%(minutes)d min ago") % {"minutes": round(age * 60)}) if age is not None else _("never")
        source["when"] = (source.get("last_backup") or "")[:16].replace("T", " ")
    found["verdict_class"] = found["verdict"].lower()
    found["repository_size"] = human(found.get("repository_bytes", 0))
    if found.get("last_run"):
        found["last_run"]["when"] = found["last_run"]["time"][:16].replace("T", " ")
    test = found.get("last_restore_test")
    if test:
        test["when"] = test["time"][:16].replace("T", " ")
    if found.get("restore_test_failing_since"):
        found["failing_since"] = found["restore_test_failing_since"][:16].replace("T", " ")
    return found


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


__all__ = ["backup", "status", "listing", "verify", "resolve", "restore", "human", "KuraError"]
