#!/usr/bin/env python3
"""Plots tools/bench-scale's JSON into docs/images/scale-{files,chunks,snapshots}.png (log axes):
time on the left, peak RSS on the right, against the series' size."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def panel(rows, x_key, x_label, steps, title, path):
    xs = [row[x_key] for row in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    for key, label in steps:
        points = [(x, row[key]) for x, row in zip(xs, rows) if isinstance(row.get(key), dict)]
        if not points:
            continue
        style = "--" if key.startswith("restic") else "-"
        left.plot([p[0] for p in points], [max(p[1]["seconds"], 1e-3) for p in points], style, marker="o", label=label)
        if "rss_mb" in points[0][1]:
            right.plot([p[0] for p in points], [p[1]["rss_mb"] for p in points], style, marker="o", label=label)
    for axis, ylabel in ((left, "seconds (wall)"), (right, "peak RSS (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel(x_label)
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    right.axhline(150, color="grey", linestyle=":", linewidth=1)
    right.text(xs[0], 160, "150 MB target", color="grey", fontsize=8)
    left.legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main():
    data = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if data.get("files"):
        panel(data["files"], "files", "media files", [
            ("first_backup", "kura first backup"), ("restic_first_backup", "restic first backup"),
            ("no_change_backup", "kura no-change backup"), ("restic_no_change_backup", "restic no-change backup"),
            ("one_changed_file", "kura backup, one file changed"), ("ls", "kura ls (whole tree)"),
            ("find", "kura find"), ("diff", "kura diff"), ("single_file_restore", "kura restore of one file")],
            "Kura against the number of files (tools/bench-scale)", os.path.join(out, "scale-files.png"))
    if data.get("chunks"):
        panel(data["chunks"], "chunks", "chunks in the index", [
            ("stats_cache_deleted", "index cache build (stats, cache deleted)"), ("stats_warm", "stats, cache warm"),
            ("backup_of_stored_data", "backup of 200 MB already stored (lookups)"), ("verify", "verify (structure)"),
            ("prune_1_percent", "prune freeing 1 %")],
            "Kura against the number of chunks (tools/bench-scale)", os.path.join(out, "scale-chunks.png"))
    if data.get("snapshots"):
        panel(data["snapshots"], "snapshots", "snapshots", [
            ("snapshots_cmd", "kura snapshots"), ("snapshots_json", "kura snapshots --json (admin list)"),
            ("forget_dry_run", "kura forget --keep-… --dry-run"), ("status", "kura status --json")],
            "Kura against the number of snapshots (tools/bench-scale)", os.path.join(out, "scale-snapshots.png"))


if __name__ == "__main__":
    main()
