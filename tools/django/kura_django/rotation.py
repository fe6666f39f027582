"""KEEP applied to the archives in EXPORT_DIR, with the same rules as `kura forget`: newest first,
the newest archive of each of the N latest days / ISO weeks / months / years is kept."""
import os
import re
from datetime import datetime

ARCHIVE = re.compile(r"^backup_complet_(?P<db>.+)_(?P<ts>\d{8}_\d{6})\.tar\.gz(\.age)?$")


def archives(directory, database=None):
    """[(datetime, path)] of the archives in `directory` (of `database` when given), newest first."""
    found = []
    if not os.path.isdir(directory):
        return found
    for name in os.listdir(directory):
        match = ARCHIVE.match(name)
        if match and (database is None or match["db"] == database):
            found.append((datetime.strptime(match["ts"], "%Y%m%d_%H%M%S"), os.path.join(directory, name)))
    return sorted(found, reverse=True)


BUCKETS = {
    "last": None,
    "hourly": lambda t: t.strftime("%Y-%m-%d %H"),
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "%04d-W%02d" % t.isocalendar()[:2],
    "monthly": lambda t: t.strftime("%Y-%m"),
    "yearly": lambda t: t.strftime("%Y"),
}


def plan(times, keep):
    """Indices (into `times`, newest first) that `keep` keeps."""
    kept = set()
    for unit, bucket in BUCKETS.items():
        count = int(keep.get(unit, 0) or 0)
        last = object()
        for index, when in enumerate(times):
            if count == 0:
                break
            value = index if bucket is None else bucket(when)
            if value != last:
                kept.add(index)
                last = value
                count -= 1
    return kept


def manifest(path):
    """The JSON beside an archive (`X.json` for `X.tar.gz` and `X.tar.gz.age`)."""
    return re.sub(r"\.tar\.gz(\.age)?$", "", path) + ".json"


def rotate(directory, database, keep):
    """Deletes the archives (and their .json) that `keep` does not keep; returns the removed paths."""
    found = archives(directory, database)
    kept = plan([when for when, _ in found], keep)
    removed = []
    for index, (_, path) in enumerate(found):
        if index in kept:
            continue
        for victim in (manifest(path), path):
            if os.path.exists(victim):
                os.remove(victim)
        removed.append(path)
    return removed
