"""tools/bench: Kura against restic and borg on a generated Django-like site (see docs/BENCHMARKS.md).

Every tool goes through the same steps on the same data in one run; wall time, user+sys CPU and
peak RSS come from /usr/bin/time -v; repository sizes from du. Kura backs the database up itself
(`--database`, its own pg_dump inside the timing); restic and borg get the same `pg_dump -Fc -Z0`
file beside the media, dumped outside their timing."""
import argparse
import hashlib
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import time

GiB = 1 << 30


q = shlex.quote


def sh(argv, env=None, check=True, quiet=True):
    """Runs a program (an argument list: no shell, so no path is ever split or expanded)."""
    return subprocess.run(argv, env=env, check=check,
                          stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE, text=True)


def timed(command, env=None):
    """Runs a command under /usr/bin/time -v: {wall, cpu, rss_mb}. An argument list runs as is; a
    string (a pipeline, `cd … &&`) runs in bash, every path in it quoted with q()."""
    argv = command if isinstance(command, list) else ["bash", "-c", command]
    out = subprocess.run(["/usr/bin/time", "-v"] + argv, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {command}\n{out.stderr[-2000:]}")
    fields = {}
    for line in out.stderr.splitlines():
        key, _, value = line.strip().partition(": ")
        fields[key] = value
    wall = fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0:0")
    parts = [float(p) for p in wall.split(":")]
    seconds = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
    cpu = float(fields.get("User time (seconds)", 0)) + float(fields.get("System time (seconds)", 0))
    return {"wall": round(seconds, 3), "cpu": round(cpu, 3), "rss_mb": round(int(fields.get("Maximum resident set size (kbytes)", 0)) / 1024, 1)}


def summarize(results):
    """The median run of several (by wall time), with min, max and every wall time; RSS is the
    largest seen."""
    best = sorted(results, key=lambda r: r["wall"])[len(results) // 2]
    walls = [r["wall"] for r in results]
    return dict(best, runs=len(results), walls=walls, min=min(walls), max=max(walls), rss_mb=max(r["rss_mb"] for r in results))


def alternate(runs, commands):
    """Runs each tool's command in turn, `runs` rounds (kura, restic, borg, kura, …), so that a
    slow spell of the machine hits every tool alike; {tool: summarize(its runs)}. `commands`:
    {tool: (command, env)} or {tool: (command, env, prepare)} with `prepare()` run untimed first."""
    samples = {tool: [] for tool in commands}
    for _ in range(runs):
        for tool, spec in commands.items():
            command, env = spec[0], spec[1]
            if len(spec) > 2 and spec[2]:
                spec[2]()
            samples[tool].append(timed(command, env))
    return {tool: summarize(results) for tool, results in samples.items()}


def median_of(runs, command, env):
    results = [timed(command, env) for _ in range(runs)]
    best = sorted(results, key=lambda r: r["wall"])[len(results) // 2]
    return dict(best, runs=runs, walls=[r["wall"] for r in results])


def password_file(work):
    """A 0600 file holding the password of the bench's encrypted Kura repositories (restic's are
    encrypted too; borg's are made with `-e none`)."""
    path = os.path.join(work, "kura-password")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write("bench password, long enough to be random\n")
    return path


def du(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


class Site:
    """A Django-like site: PostgreSQL tables and a MEDIA_ROOT, changed night by night (seeded)."""

    def __init__(self, root, size, psql, url):
        self.root, self.size, self.psql, self.url = root, size, psql, url
        self.media = os.path.join(root, "site", "media")
        self.dump = os.path.join(root, "site", "database_site.sql")
        self.rng = random.Random(1234)
        self.uploads = []

    def sql(self, statement):
        sh(shlex.split(self.psql) + [self.url, "-c", statement])

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            file.write(data)
        self.uploads.append(path)

    def receipt(self, size):
        words = [b"Facture", b"Montant", b"TVA", b"Paiement", b"scolarit\xc3\xa9", b"re\xc3\xa7u", b"EUR", b"total"]
        parts, n = [], 0
        while n < size:
            piece = self.rng.randbytes(300) if self.rng.random() < 0.4 else b" ".join(self.rng.choice(words) for _ in range(50))
            parts.append(piece)
            n += len(piece)
        return b"".join(parts)[:size]

    def generate(self):
        self.generate_media()
        self.generate_database()

    def generate_media(self):
        media_bytes = int(0.7 * GiB * self.size)
        photos, receipts, videos = 0.58 * media_bytes, 0.28 * media_bytes, 0.14 * media_bytes
        made = 0
        while made < photos:
            size = self.rng.randint(200_000, 1_800_000)
            self.write(f"{self.media}/profile_photos/{len(self.uploads) // 200:03d}/photo_{len(self.uploads)}.jpg", self.rng.randbytes(size))
            made += size
        made = 0
        while made < receipts:
            size = self.rng.randint(40_000, 600_000)
            self.write(f"{self.media}/payment_receipts/2026/{len(self.uploads) % 12 + 1:02d}/recu_{len(self.uploads)}.pdf", self.receipt(size))
            made += size
        for index in range(3):
            self.write(f"{self.media}/videos/presentation_{index}.mp4", self.rng.randbytes(int(videos / 3)))
        for path in self.rng.sample([p for p in self.uploads if p.endswith(".jpg")], max(1, len(self.uploads) // 50)):
            shutil.copyfile(path, path.replace(".jpg", "_copy.jpg"))  # the same photo uploaded twice
            self.uploads.append(path.replace(".jpg", "_copy.jpg"))

    def generate_database(self):
        rows = int(2_000_000 * self.size)
        self.sql("CREATE TABLE school_student (id serial PRIMARY KEY, name text NOT NULL, email text, photo varchar(200));"
                 "CREATE TABLE school_payment (id bigserial PRIMARY KEY, student_id int NOT NULL REFERENCES school_student(id),"
                 " amount numeric(10,2) NOT NULL, paid_on date NOT NULL, receipt varchar(200), note text);"
                 "CREATE INDEX ON school_payment (paid_on);"
                 "CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL, action text NOT NULL, detail jsonb);"
                 f"INSERT INTO school_student (name, email, photo) SELECT 'Eleve ' || g, 'e' || g || '@ecole.example', 'profile_photos/p' || g || '.jpg' FROM generate_series(1, {max(100, rows // 100)}) g;"
                 f"INSERT INTO school_payment (student_id, amount, paid_on, receipt, note) SELECT g % {max(100, rows // 100)} + 1, (g % 997) * 1.5, date '2024-01-01' + g % 900, 'payment_receipts/r' || g || '.pdf', md5(g::text) FROM generate_series(1, {rows}) g;"
                 f"INSERT INTO audit_log (at, action, detail) SELECT timestamp '2024-01-01' + g * interval '1 minute', 'login', jsonb_build_object('user', g % 5000, 'ip', '10.0.' || g % 250 || '.7') FROM generate_series(1, {rows // 2}) g;")
        self.redump()

    def night(self, number):
        """A night of the site: 0.5 % more payments and audit rows, 0.05 % of payments updated,
        uploads added (0.5 % of the files) and deleted (0.1 %), then a new dump."""
        rows = int(2_000_000 * self.size)
        self.sql(f"INSERT INTO school_payment (student_id, amount, paid_on, receipt, note) SELECT g % 100 + 1, 12.5, date '2026-11-01' + {number}, 'payment_receipts/n' || g || '.pdf', md5(g::text) FROM generate_series(1, {rows // 200}) g;"
                 f"INSERT INTO audit_log (at, action, detail) SELECT now(), 'payment', jsonb_build_object('n', g) FROM generate_series(1, {rows // 400}) g;"
                 f"UPDATE school_payment SET amount = amount + 1 WHERE id IN (SELECT (random() * {rows})::bigint FROM generate_series(1, {rows // 2000}));")
        for index in range(max(2, len(self.uploads) // 200)):
            self.write(f"{self.media}/payment_receipts/2026/11/night{number}_{index}.pdf", self.receipt(self.rng.randint(40_000, 400_000)))
        for path in self.rng.sample(self.uploads, max(1, len(self.uploads) // 1000)):
            if os.path.exists(path):
                os.remove(path)
        self.redump()

    def redump(self):
        """pg_dump for restic and borg (Kura runs its own inside its backup); timed, so that each
        tool's nightly job — dump + backup — can be compared."""
        self.dump_runs = getattr(self, "dump_runs", [])
        pg_dump = os.path.join(os.path.dirname(shlex.split(self.psql)[0]), "pg_dump")
        self.dump_runs.append(timed([pg_dump, "-Fc", "-Z0", "-f", self.dump, self.url]))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kura", required=True)
    parser.add_argument("--psql", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--size", type=float, default=1.0, help="data size in GiB (about)")
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--snapshots", type=int, default=30, help="snapshots before the single-file restore")
    parser.add_argument("--json", default="bench-results.json")
    parser.add_argument("--work", required=True)
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per step (median, min-max)")
    parser.add_argument("--dump-as-file", action="store_true",
                        help="every tool, Kura too, backs up the site folder with the pg_dump file in it (no --database)")
    args = parser.parse_args()
    work = args.work
    site = Site(work, args.size, args.psql, args.url)
    started = time.time()
    site.generate()
    site_bytes = du(os.path.join(work, "site"))
    print(f"site: {site_bytes / 1e6:,.0f} MB ({len(site.uploads)} media files, dump {os.path.getsize(site.dump) / 1e6:,.0f} MB) "
          f"generated in {time.time() - started:.0f} s", file=sys.stderr)
    env = dict(os.environ, KURA_REPO=f"{work}/kura", KURA_CACHE=f"{work}/kura-cache", KURA_PASSWORD_FILE=password_file(work),
               RESTIC_REPOSITORY=f"{work}/restic",
               RESTIC_PASSWORD="bench", BORG_PASSPHRASE="", BORG_REPO=f"{work}/borg", BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes",
               BORG_RELOCATED_REPO_ACCESS_IS_OK="yes", BORG_CACHE_DIR=f"{work}/borg-cache", RESTIC_CACHE_DIR=f"{work}/restic-cache")
    kura, media, siteroot = args.kura, site.media, os.path.join(work, "site")
    # --dump-as-file: Kura backs up the site folder (the dump is a file in it, cut with the dump
    # chunker for its PGDMP magic), exactly what restic and borg get; else it runs pg_dump itself.
    kura_backup = ([kura, "backup", "--media", siteroot, "--tag", "bench"] if args.dump_as_file
                   else [kura, "backup", "--media", media, "--database", args.url, "--tag", "bench"])
    kura_media = "media/media" if args.dump_as_file else "media"   # the media folder in Kura's snapshot
    tools = {
        "kura": {"init": [kura, "init"], "backup": kura_backup, "size": f"{work}/kura"},
        "restic": {"init": ["restic", "init", "-q"], "backup": ["restic", "backup", "-q", siteroot], "size": f"{work}/restic"},
        "borg": {"init": ["borg", "init", "-e", "none"],
                 "backup": ["borg", "create", "--compression", "zstd,3", "::{now:%Y%m%d%H%M%S%f}", siteroot],
                 "size": f"{work}/borg"},
        "borg-lz4": {"init": ["borg", "init", "-e", "none"],
                     "backup": ["borg", "create", "--compression", "lz4", "::{now:%Y%m%d%H%M%S%f}", siteroot],
                     "size": f"{work}/borg-lz4"},
    }
    tool_env = lambda name: dict(env, BORG_REPO=f"{work}/{name}") if name.startswith("borg") else env
    results = {name: {"nights": []} for name in tools}

    def idle():
        """Untimed, before each run: the disk flushed, so that no tool's fsyncs wait behind the
        writeback of the runs before it (since stop 29; the first backups leave gigabytes dirty)."""
        sh(["sync"])
    def fresh(name):
        """An empty repository (and cache) for one more first backup, and an idle disk."""
        return lambda: (shutil.rmtree(tools[name]["size"], ignore_errors=True), sh(tools[name]["init"], tool_env(name)), idle())
    first = alternate(args.runs, {name: (tool["backup"], tool_env(name), fresh(name)) for name, tool in tools.items()})
    no_change = alternate(args.runs, {name: (tool["backup"], tool_env(name), idle) for name, tool in tools.items()})
    for name, tool in tools.items():
        results[name]["first_backup"] = first[name]
        results[name]["first_backup"]["repo_bytes"] = du(tool["size"])
        results[name]["no_change_backup"] = no_change[name]
    for night in range(1, args.nights + 1):
        site.night(night)
        for name, tool in tools.items():
            before = du(tool["size"])
            result = timed(tool["backup"], tool_env(name))
            result["bytes_added"] = du(tool["size"]) - before
            results[name]["nights"].append(result)
    # Enough snapshots for the single-file restore target (no-change backups are cheap).
    for name in ("kura", "restic", "borg"):
        count = 1 + args.runs + args.nights  # first, no-change, nights
        while count < args.snapshots:
            sh(tools[name]["backup"], tool_env(name))
            count += 1
        results[name]["snapshots"] = count
        results[name]["repo_bytes"] = du(tools[name]["size"])
    benv = tool_env("borg")
    one = sorted(p for p in site.uploads if os.path.exists(p) and "/payment_receipts/" in p)[0]
    relative = os.path.relpath(one, os.path.dirname(media))   # media/…
    kura_relative = kura_media + "/" + os.path.relpath(one, media)
    absolute_in_site = os.path.join(siteroot, relative)
    w = lambda name: q(f"{work}/{name}")  # a quoted path in the work folder
    k, last_borg = q(kura), "$(borg list --last 1 --short)"
    def fresh(name):
        """Untimed, before a full restore: the last restore's tree removed and the disk synced, so
        that each tool starts from no target and an idle disk, and is timed until its own restore
        is durable (before 2026-12-01 this removal and sync were inside the timing of every tool)."""
        return lambda: sh(["bash", "-c", f"rm -rf {w(name)} && sync"])
    # Restores made durable by every tool: Kura's ends with syncfs, restic's and borg's with sync.
    steps = {
        "full_restore": {
            "kura": (f"{k} restore latest --target {w('out-kura')}", fresh("out-kura")),
            "restic": (f"restic restore -q latest --target {w('out-restic')} && sync", fresh("out-restic")),
            "borg": (f"mkdir {w('out-borg')} && cd {w('out-borg')} && borg extract ::{last_borg} && sync", fresh("out-borg"))},
        "one_file_restore": {
            "kura": f"rm -rf {w('one-kura')} && {k} restore latest --target {w('one-kura')} --include {q('/' + kura_relative)}",
            "restic": f"rm -rf {w('one-restic')} && restic restore -q latest --target {w('one-restic')} --include {q(absolute_in_site)}",
            "borg": f"rm -rf {w('one-borg')} && mkdir {w('one-borg')} && cd {w('one-borg')} && "
                    f"borg extract ::{last_borg} {q(absolute_in_site.lstrip('/'))}"},
        "one_file_cat": {"kura": f"{k} cat latest {q(kura_relative)} > {w('one-kura.cat')}"},
        "export": {
            "kura": f"rm -rf {w('exp')} && {k} export latest --output {w('exp')}",
            "restic": f"restic dump -q latest {q(siteroot)} | gzip > {w('restic.tar.gz')}",
            "borg": f"borg export-tar ::{last_borg} {w('borg.tar.gz')}",
            "tar": f"tar -czf {w('tar.tar.gz')} -C {w('out-kura')} .",
            "pigz": f"tar -I pigz -cf {w('pigz.tar.gz')} -C {w('out-kura')} .",
            "kura_level6": f"rm -rf {w('exp6')} && {k} export latest --output {w('exp6')} --level 6"},
        "verify_read_data": {"kura": [kura, "verify", "--read-data"], "restic": ["restic", "check", "-q", "--read-data"],
                             "borg": ["borg", "check", "--verify-data"]},
    }
    for step, commands in steps.items():
        measured = alternate(args.runs, {name: (spec[0] if isinstance(spec, tuple) else spec, benv if name == "borg" else env,
                                                spec[1] if isinstance(spec, tuple) else None)
                                         for name, spec in commands.items()})
        for name, result in measured.items():
            if name == "kura_level6":
                results["kura"]["export_level6"] = result
            else:
                results.setdefault(name, {})[step] = result
    results["kura"]["export_level6"]["bytes"] = du(f"{work}/exp6")
    for name, path in (("kura", f"{work}/exp"), ("restic", f"{work}/restic.tar.gz"), ("borg", f"{work}/borg.tar.gz"),
                       ("tar", f"{work}/tar.tar.gz"), ("pigz", f"{work}/pigz.tar.gz")):
        results[name]["export"]["bytes"] = du(path) if os.path.isdir(path) else os.path.getsize(path)
    # Correctness: every restore equals the source media.
    checks = {
        "kura full restore": sh(["diff", "-r", media, f"{work}/out-kura/{kura_media}"], check=False).returncode == 0,
        "restic full restore": sh(["diff", "-r", media, f"{work}/out-restic{media}"], check=False).returncode == 0,
        "borg full restore": sh(["diff", "-r", media, f"{work}/out-borg{media}"], check=False).returncode == 0,
        "kura one file": sh(["cmp", one, f"{work}/one-kura/{kura_relative}"], check=False).returncode == 0,
        "kura cat": sh(["cmp", one, f"{work}/one-kura.cat"], check=False).returncode == 0,
        "restic one file": sh(["cmp", one, f"{work}/one-restic{absolute_in_site}"], check=False).returncode == 0,
        "borg one file": sh(["cmp", one, f"{work}/one-borg{absolute_in_site}"], check=False).returncode == 0,
    }
    results["pg_dump"] = {"runs": site.dump_runs, "wall": statistics.median(r["wall"] for r in site.dump_runs),
                          "rss_mb": max(r["rss_mb"] for r in site.dump_runs)}
    report = {"site_bytes": site_bytes, "media_files": len(site.uploads), "dump_bytes": os.path.getsize(site.dump),
              "size_arg": args.size, "nights": args.nights, "runs": args.runs, "dump_as_file": args.dump_as_file,
              "results": results, "checks": checks,
              "note": "page cache warm (it cannot be dropped here); Kura's backups include its own pg_dump"}
    publish(report, args.json, print_table)


def publish(report, path, table):
    """Writes the raw figures as JSON, prints the table, and fails when a restore differed."""
    with open(path, "w") as file:
        json.dump(report, file, indent=1)
    table(report)
    checks = report["checks"]
    if not all(checks.values()):
        raise SystemExit("a restore differs from the source: " + ", ".join(k for k, v in checks.items() if not v))


def print_table(report):
    r = report["results"]
    k, rs, b = r["kura"], r["restic"], r["borg"]
    mb = report["site_bytes"] / 1e6
    def night_bytes(tool):
        return statistics.mean(n["bytes_added"] for n in r[tool]["nights"]) if r[tool]["nights"] else 0
    dump = r["pg_dump"]["wall"]
    # With --dump-as-file every tool's nightly job is pg_dump + backup; else Kura's backup dumps.
    kura_dump = dump if report.get("dump_as_file") else 0
    job = lambda tool, step: r[tool][step]["wall"] + (kura_dump if tool == "kura" else dump)
    night = lambda tool: statistics.median(n["wall"] for n in r[tool]["nights"])
    night_job = lambda tool: night(tool) + (kura_dump if tool == "kura" else dump)
    rows = [
        ("nightly job: first (pg_dump + backup, s)", job("kura", "first_backup"), job("restic", "first_backup"), job("borg", "first_backup"), job("borg-lz4", "first_backup")),
        ("nightly job: no change (s)", job("kura", "no_change_backup"), job("restic", "no_change_backup"), job("borg", "no_change_backup"), job("borg-lz4", "no_change_backup")),
        ("nightly job: a night (s)", night_job("kura"), night_job("restic"), night_job("borg"), night_job("borg-lz4")),
        ("first backup (s)", k["first_backup"]["wall"], rs["first_backup"]["wall"], b["first_backup"]["wall"], r["borg-lz4"]["first_backup"]["wall"]),
        ("first backup MB/s", mb / k["first_backup"]["wall"], mb / rs["first_backup"]["wall"], mb / b["first_backup"]["wall"], mb / r["borg-lz4"]["first_backup"]["wall"]),
        ("first backup (user+sys)/wall", k["first_backup"]["cpu"] / k["first_backup"]["wall"], rs["first_backup"]["cpu"] / rs["first_backup"]["wall"],
         b["first_backup"]["cpu"] / b["first_backup"]["wall"], None),
        ("no-change backup (s)", k["no_change_backup"]["wall"], rs["no_change_backup"]["wall"], b["no_change_backup"]["wall"], r["borg-lz4"]["no_change_backup"]["wall"]),
        ("MB added per night", night_bytes("kura") / 1e6, night_bytes("restic") / 1e6, night_bytes("borg") / 1e6, night_bytes("borg-lz4") / 1e6),
        ("night backup (s)", night("kura"), night("restic"), night("borg"), night("borg-lz4")),
        ("full restore (s)", k["full_restore"]["wall"], rs["full_restore"]["wall"], b["full_restore"]["wall"], None),
        (f"one media file, {k['snapshots']} snapshots (ms)", 1000 * k["one_file_restore"]["wall"], 1000 * rs["one_file_restore"]["wall"],
         1000 * b["one_file_restore"]["wall"], None),
        ("kura cat of that file (ms)", 1000 * k["one_file_cat"]["wall"], None, None, None),
        ("export to tar.gz (s)", k["export"]["wall"], rs["export"]["wall"], b["export"]["wall"], None),
        ("verify --read-data (s)", k["verify_read_data"]["wall"], rs["verify_read_data"]["wall"], b["verify_read_data"]["wall"], None),
        ("peak RSS, any step (MB)", max(v["rss_mb"] for v in k.values() if isinstance(v, dict) and "rss_mb" in v),
         max(v["rss_mb"] for v in rs.values() if isinstance(v, dict) and "rss_mb" in v),
         max(v["rss_mb"] for v in b.values() if isinstance(v, dict) and "rss_mb" in v), None),
        ("peak RSS, restore/export/verify (MB)",
         max(k[s]["rss_mb"] for s in ("full_restore", "one_file_restore", "export", "verify_read_data")),
         max(rs[s]["rss_mb"] for s in ("full_restore", "one_file_restore", "export", "verify_read_data")),
         max(b[s]["rss_mb"] for s in ("full_restore", "one_file_restore", "export", "verify_read_data")), None),
        ("repository (MB)", k["repo_bytes"] / 1e6, rs["repo_bytes"] / 1e6, b["repo_bytes"] / 1e6, None),
    ]
    print(f"\npg_dump -Fc -Z0 of the database: {dump:.2f} s (median of {len(r['pg_dump']['runs'])}), {r['pg_dump']['rss_mb']:.0f} MB RSS; "
          "Kura runs it inside its backup, so Kura's backup rows include it and restic's and borg's do not.")
    shape = "the dump as a file in the site folder, for every tool" if report.get("dump_as_file") else "Kura dumps the database itself (--database)"
    print(f"\nsite {mb:,.0f} MB ({report['media_files']} media files, dump {report['dump_bytes'] / 1e6:,.0f} MB; {shape}), "
          f"{report['nights']} nights; page cache warm\n")
    print(f"{'step':<40} {'kura':>10} {'restic':>10} {'borg zstd':>10} {'borg lz4':>10}   kura vs restic / borg")
    for label, *values in rows:
        cells = [f"{v:10.2f}" if v is not None else f"{'-':>10}" for v in values]
        ratio = ""
        if values[0] and values[1]:
            better_low = "MB/s" not in label and "user+sys" not in label
            ratio = f"   {(values[1] / values[0]) if better_low else (values[0] / values[1]):.2f}×"
            if values[2]:
                ratio += f" / {(values[2] / values[0]) if better_low else (values[0] / values[2]):.2f}×"
        print(f"{label:<40} {' '.join(cells)}{ratio}")
    e = r
    print(f"\nexport sizes: kura {e['kura']['export']['bytes'] / 1e6:,.1f} MB, tar -czf {e['tar']['export']['bytes'] / 1e6:,.1f} MB "
          f"({e['tar']['export']['wall']:.2f} s), tar -I pigz {e['pigz']['export']['bytes'] / 1e6:,.1f} MB ({e['pigz']['export']['wall']:.2f} s); "
          f"kura export {e['tar']['export']['wall'] / e['kura']['export']['wall']:.1f}× faster than tar -czf, "
          f"{100 * (e['kura']['export']['bytes'] / e['tar']['export']['bytes'] - 1):+.1f} % size; "
          f"with --level 6: {e['kura']['export_level6']['wall']:.2f} s ({e['tar']['export']['wall'] / e['kura']['export_level6']['wall']:.1f}×), "
          f"{100 * (e['kura']['export_level6']['bytes'] / e['tar']['export']['bytes'] - 1):+.1f} % size")
    runs = report.get("runs", 1)
    print(f"\nmedian of {runs} alternating runs per step (kura, restic, borg, …), min–max in seconds; nights: median of "
          f"{report['nights']} (one run each):")
    for step in ("first_backup", "no_change_backup", "full_restore", "one_file_restore", "export", "verify_read_data"):
        cells = []
        for tool in ("kura", "restic", "borg", "borg-lz4", "tar", "pigz"):
            m = r.get(tool, {}).get(step)
            if m and "min" in m:
                cells.append(f"{tool} {m['wall']:.2f} ({m['min']:.2f}–{m['max']:.2f})")
        print(f"  {step:<18} " + " · ".join(cells))
    print("checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in report["checks"].items()))


if __name__ == "__main__":
    main()
