#!/usr/bin/env python3
"""How Kura's costs grow with the repository (tools/bench-scale; docs/BENCHMARKS.md, "Scale").

Three series, each on repositories built here from generated data through Kura's own commands:
  files      a MEDIA_ROOT of N small files in year/month/day folders: first backup, no-change
             backup, one changed file, ls, find, single-file restore, diff; restic's first and
             no-change backups of the same tree
  chunks     a repository made with tiny chunks (--chunker-params 128,512,2048) so that a few GB
             hold N chunks: backup, index cache build (cache deleted), lookups per second,
             verify (structure), prune freeing 1 % (index bytes written against the index size)
  snapshots  N nightly snapshots of a small site (one per day, --time): snapshots, forget
             --dry-run with a keep policy, status, snapshots --json (the admin page's list)
Every figure: wall seconds (median of --runs where repeated) and peak RSS (/usr/bin/time).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

from bench import du  # noqa: E402  (tools/lib is the script's folder, first on sys.path)


class Runner:
    """Runs commands with a clean environment of passwords, measuring wall time and peak RSS."""

    def __init__(self, work, kura):
        self.work = work
        self.kura = kura
        self.password = os.path.join(work, "password")
        with open(self.password, "w") as f:
            f.write("bench-scale password\n")
        os.chmod(self.password, 0o600)
        self.env = dict(os.environ, KURA_PASSWORD_FILE=self.password, RESTIC_PASSWORD_FILE=self.password,
                        KURA_CACHE=os.path.join(work, "cache"), RESTIC_CACHE_DIR=os.path.join(work, "restic-cache"),
                        NO_COLOR="1", TZ="UTC")

    def run(self, args, check=True, stdout=subprocess.DEVNULL, allowed=(0, 3)):
        """(seconds, peak RSS in MB, stdout text or None)."""
        rss_file = os.path.join(self.work, "rss")
        capture = stdout == subprocess.PIPE
        started = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + args, env=self.env,
                              stdout=subprocess.PIPE if capture else stdout, stderr=subprocess.PIPE, text=True)
        seconds = time.monotonic() - started
        if check and proc.returncode not in allowed:
            sys.exit(f"bench-scale: {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        with open(rss_file) as f:
            rss = int(f.read().strip().splitlines()[-1]) / 1024
        return seconds, rss, proc.stdout if capture else None

    def kura_cmd(self, repo, *args):
        return [self.kura] + list(args[:1]) + ["--repo", repo] + list(args[1:])

    def median(self, args, runs, prepare=None, allowed=(0, 3)):
        """Median seconds, (min, max), max RSS over `runs` runs."""
        times, rss = [], []
        for _ in range(runs):
            if prepare:
                prepare()
            t, r, _ = self.run(args, allowed=allowed)
            times.append(t)
            rss.append(r)
        return statistics.median(times), (min(times), max(times)), max(rss)


def figure(seconds, rss=None, spread=None, **extra):
    out = {"seconds": round(seconds, 4)}
    if rss is not None:
        out["rss_mb"] = round(rss, 1)
    if spread is not None:
        out["min"], out["max"] = round(spread[0], 4), round(spread[1], 4)
    out.update(extra)
    return out


# --- files ------------------------------------------------------------------------------------

def media_path(i):
    """Deterministic MEDIA_ROOT/year/month/day/upload-i.ext: ~30 files a day over the years."""
    day = i // 30
    year, rest = 2010 + day // 372, day % 372
    return f"uploads/{year}/{rest // 31 + 1:02d}/{rest % 31 + 1:02d}/upload-{i:07d}.{('jpg', 'pdf', 'png')[i % 3]}"


def grow_media(media, start, end):
    """Files start..<end: small (200 B - 6 KB), half random bytes, half text."""
    rng = random.Random(start)
    made = set()
    for i in range(start, end):
        path = os.path.join(media, media_path(i))
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        size = rng.randint(200, 6000)
        with open(path, "wb") as f:
            if i % 2:
                f.write(rng.randbytes(size))
            else:
                f.write((f"receipt {i} paid {rng.randint(1, 99999)} " * (size // 24 + 1)).encode()[:size])


def series_files(r, levels, runs, use_restic):
    media = os.path.join(r.work, "files-media")
    results = []
    have = 0
    for n in levels:
        print(f"[files] {n:,} files: generating", file=sys.stderr, flush=True)
        grow_media(media, have, n)
        have = n
        repo = os.path.join(r.work, f"files-repo-{n}")
        shutil.rmtree(os.path.join(r.work, "cache"), ignore_errors=True)
        r.run(r.kura_cmd(repo, "init"))
        row = {"files": n}
        t, rss, _ = r.run(r.kura_cmd(repo, "backup", "--media", media, "--host", "scale"))
        row["first_backup"] = figure(t, rss)
        print(f"[files] {n:,}: first backup {t:.1f} s, {rss:.0f} MB", file=sys.stderr, flush=True)
        row["no_change_backup"] = figure(*med(r, r.kura_cmd(repo, "backup", "--media", media, "--host", "scale"), runs))
        changed = os.path.join(media, media_path(n // 2))
        with open(changed, "ab") as f:
            f.write(b" changed")
        t, rss, _ = r.run(r.kura_cmd(repo, "backup", "--media", media, "--host", "scale"))
        row["one_changed_file"] = figure(t, rss)
        t, rss, out = r.run(r.kura_cmd(repo, "snapshots", "--json"), stdout=subprocess.PIPE)
        ids = [s["id"] for s in json.loads(out)]
        first, last = ids[0], ids[-1]
        row["ls"] = figure(*med(r, r.kura_cmd(repo, "ls", last), runs))
        row["find"] = figure(*med(r, r.kura_cmd(repo, "find", "*upload-0000007.pdf"), runs))
        target = os.path.join(r.work, "restore-one")
        one = "/media/" + media_path(n // 2)
        row["single_file_restore"] = figure(*med(r, r.kura_cmd(repo, "restore", last, "--target", target, "--include", one), runs,
                                                 prepare=lambda: shutil.rmtree(target, ignore_errors=True)))
        with open(os.path.join(target, one.lstrip("/")), "rb") as f, open(changed, "rb") as g:
            assert f.read() == g.read(), "the restored file differs"
        row["diff"] = figure(*med(r, r.kura_cmd(repo, "diff", first, last), runs))
        row["repository_mb"] = round(du(repo) / 1e6, 1)
        row["cache_mb"] = round(du(os.path.join(r.work, "cache")) / 1e6, 1)
        if use_restic:
            rrepo = os.path.join(r.work, f"files-restic-{n}")
            r.run(["restic", "-r", rrepo, "init"])
            t, rss, _ = r.run(["restic", "-r", rrepo, "backup", "-q", media])
            row["restic_first_backup"] = figure(t, rss)
            row["restic_no_change_backup"] = figure(*med(r, ["restic", "-r", rrepo, "backup", "-q", media], runs))
            row["restic_repository_mb"] = round(du(rrepo) / 1e6, 1)
            shutil.rmtree(rrepo)
        print(f"[files] {n:,}: {json.dumps(row)}", file=sys.stderr, flush=True)
        results.append(row)
        shutil.rmtree(repo)
    shutil.rmtree(media)
    return results


def med(r, args, runs, prepare=None, allowed=(0, 3)):
    m, spread, rss = r.median(args, runs, prepare, allowed)
    return m, rss, spread


# --- chunks -----------------------------------------------------------------------------------

CHUNKER = "128,512,2048"   # average 512 B: 10 M chunks in ~5 GB
FILE_MB = 8


def series_chunks(r, levels, runs):
    media = os.path.join(r.work, "chunks-media")
    os.makedirs(media)
    repo = os.path.join(r.work, "chunks-repo")
    shutil.rmtree(os.path.join(r.work, "cache"), ignore_errors=True)
    r.run(r.kura_cmd(repo, "init", "--chunker-params", CHUNKER, "--pack-size", "4"))
    results = []
    files = 0
    bytes_per_chunk = 512 + 64   # measured average of the chunker on random bytes, refined below
    for n in levels:
        want = int(n * bytes_per_chunk / (FILE_MB << 20)) + 1
        print(f"[chunks] {n:,}: {want - files} more files of {FILE_MB} MiB", file=sys.stderr, flush=True)
        rng = random.Random(files)
        for i in range(files, want):
            with open(os.path.join(media, f"blob-{i:05d}.bin"), "wb") as f:
                f.write(rng.randbytes(FILE_MB << 20))
        files = want
        row = {"target_chunks": n}
        t, rss, out = r.run(r.kura_cmd(repo, "backup", "--media", media, "--host", "scale", "--json"), stdout=subprocess.PIPE)
        summary = json.loads(out)
        row["backup_of_the_new_files"] = figure(t, rss, chunks_added=summary.get("summary", summary).get("chunks_added"))
        t, rss, out = r.run(r.kura_cmd(repo, "stats", "--json"), stdout=subprocess.PIPE)
        stats = json.loads(out)
        row["chunks"] = stats["chunks"]
        row["packs"] = stats["packs"]
        if row["chunks"]:
            bytes_per_chunk = stats["unique_plain_bytes"] / row["chunks"]
        cache = os.path.join(r.work, "cache")
        row["stats_warm"] = figure(*med(r, r.kura_cmd(repo, "stats", "--json"), runs))
        shutil.rmtree(cache)
        t, rss, _ = r.run(r.kura_cmd(repo, "stats", "--json"))
        row["stats_cache_deleted"] = figure(t, rss)
        row["index_cache_mb"] = round(du(cache) / 1e6, 1)
        row["index_files_mb"] = round(du(os.path.join(repo, "index")) / 1e6, 1)
        # Lookups: a folder of copies of stored files, backed up (every chunk is already indexed).
        copies = os.path.join(r.work, "chunks-copies")
        os.makedirs(copies, exist_ok=True)
        for i in range(min(files, 25)):
            shutil.copyfile(os.path.join(media, f"blob-{i:05d}.bin"), os.path.join(copies, f"copy-{i:05d}.bin"))
        copied_chunks = min(files, 25) * (FILE_MB << 20) / bytes_per_chunk
        t, rss, out = r.run(r.kura_cmd(repo, "backup", "--media", copies, "--host", "lookups", "--json"), stdout=subprocess.PIPE)
        lookups = json.loads(out)
        row["backup_of_stored_data"] = figure(t, rss, lookups_per_second=round(copied_chunks / t),
                                              chunks_added=lookups.get("summary", {}).get("chunks_added"))
        shutil.rmtree(copies)
        r.run(r.kura_cmd(repo, "forget", lookups["snapshot_id"]))
        row["verify"] = figure(*med(r, r.kura_cmd(repo, "verify"), max(1, runs // 2)))
        # Prune freeing 1 %: delete 1 % of the files, back up, keep only that snapshot.
        doomed = sorted(os.listdir(media))[: max(1, files // 100)]
        for name in doomed:
            os.unlink(os.path.join(media, name))
        files_left = sorted(os.listdir(media))
        for i, name in enumerate(files_left):   # keep the names dense for the next level
            os.rename(os.path.join(media, name), os.path.join(media, f"tmp-{i:05d}.bin"))
        for i in range(len(files_left)):
            os.rename(os.path.join(media, f"tmp-{i:05d}.bin"), os.path.join(media, f"blob-{i:05d}.bin"))
        files = len(files_left)
        r.run(r.kura_cmd(repo, "backup", "--media", media, "--host", "scale"))
        r.run(r.kura_cmd(repo, "forget", "--keep-last", "1"))
        t, rss, out = r.run(r.kura_cmd(repo, "prune", "--json"), stdout=subprocess.PIPE)
        report = json.loads(out)
        row["prune_1_percent"] = figure(t, rss, bytes_freed=report["bytes_before"] - report["bytes_after"],
                                        index_bytes_written=report.get("index_bytes_written"),
                                        index_files_written=report["index_files_written"],
                                        index_files_replaced=report["index_files_deleted"],
                                        index_files_kept=report.get("index_files_kept"),
                                        index_mb_after=round(du(os.path.join(repo, "index")) / 1e6, 1))
        row["repository_mb"] = round(du(repo) / 1e6, 1)
        print(f"[chunks] {n:,}: {json.dumps(row)}", file=sys.stderr, flush=True)
        results.append(row)
    shutil.rmtree(repo)
    shutil.rmtree(media)
    return results


# --- snapshots --------------------------------------------------------------------------------

def series_snapshots(r, levels, runs):
    media = os.path.join(r.work, "snap-media")
    grow_media(media, 0, 300)
    repo = os.path.join(r.work, "snap-repo")
    shutil.rmtree(os.path.join(r.work, "cache"), ignore_errors=True)
    r.run(r.kura_cmd(repo, "init"))
    results = []
    made = 0
    policy = ["--keep-daily", "14", "--keep-weekly", "8", "--keep-monthly", "24", "--keep-yearly", "5"]
    for n in levels:
        print(f"[snapshots] {n:,}: {n - made} more nights", file=sys.stderr, flush=True)
        started = time.monotonic()
        for night in range(made, n):
            with open(os.path.join(media, media_path(night % 300)), "ab") as f:
                f.write(f" night {night}".encode())
            day = time.strftime("%Y-%m-%d", time.gmtime(1_500_000_000 + night * 86400))
            r.run(r.kura_cmd(repo, "backup", "--media", media, "--host", "scale", "--time", f"{day} 02:30:00"))
        made = n
        row = {"snapshots": n, "seconds_per_night": round((time.monotonic() - started) / max(1, n - (results[-1]["snapshots"] if results else 0)), 3)}
        row["snapshots_cmd"] = figure(*med(r, r.kura_cmd(repo, "snapshots"), runs))
        row["snapshots_json"] = figure(*med(r, r.kura_cmd(repo, "snapshots", "--json"), runs))
        row["forget_dry_run"] = figure(*med(r, r.kura_cmd(repo, "forget", *policy, "--dry-run"), runs))
        row["status"] = figure(*med(r, r.kura_cmd(repo, "status", "--json"), runs, allowed=(0, 1, 2)))
        row["repository_mb"] = round(du(repo) / 1e6, 1)
        print(f"[snapshots] {n:,}: {json.dumps(row)}", file=sys.stderr, flush=True)
        results.append(row)
    # The real forget at the end (it writes), once.
    t, rss, out = r.run(r.kura_cmd(repo, "forget", *policy, "--json"), stdout=subprocess.PIPE)
    results[-1]["forget"] = figure(t, rss)
    shutil.rmtree(repo)
    shutil.rmtree(media)
    return results


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kura", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--json", default="bench-scale.json")
    p.add_argument("--files", default="10000,100000,1000000")
    p.add_argument("--chunks", default="100000,1000000,10000000")
    p.add_argument("--snapshots", default="10,100,1000")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--only", choices=["files", "chunks", "snapshots"], action="append")
    p.add_argument("--no-restic", action="store_true")
    a = p.parse_args()
    r = Runner(a.work, a.kura)
    levels = lambda text: [int(x) for x in text.split(",") if x]
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores", "runs": a.runs}
    if os.path.exists(a.json):
        with open(a.json) as f:
            out.update({k: v for k, v in json.load(f).items() if k in ("files", "chunks", "snapshots")})
    for series in a.only or ["snapshots", "files", "chunks"]:
        if series == "files":
            out["files"] = series_files(r, levels(a.files), a.runs, not a.no_restic)
        elif series == "chunks":
            out["chunks"] = series_chunks(r, levels(a.chunks), a.runs)
        else:
            out["snapshots"] = series_snapshots(r, levels(a.snapshots), a.runs)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
