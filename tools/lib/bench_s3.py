"""tools/bench --repo-kind s3: Kura against restic, both with the repository on the same SeaweedFS
S3 server (loopback), on the generated site of tools/bench (see docs/BENCHMARKS.md, "Offsite").

Steps, each timed with /usr/bin/time -v (wall, user+sys, peak RSS): first backup, no-change
backup (median of 3), a night, full restore (after an untimed `sync`; Kura: durable with
syncfs; restic: followed by sync), one media file from a warm cache (median of 5) and from an empty cache, export (Kura),
verify --read-data; then requests per GB stored (a counting pass of each first backup through
tools/lib/fault_proxy.py in pass-through mode), and `kura copy` of a local repository to S3."""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Site, timed, median_of, du, sh, q, publish, password_file  # noqa: E402


def counted_first_backup(command, env, upstream, proxy_script):
    """Runs `command` with its endpoint replaced by a counting proxy; returns the request count."""
    proxy = subprocess.Popen([sys.executable, proxy_script, "--upstream", upstream, "--mode", "count"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = proxy.stdout.readline().strip()
    host = "127.0.0.1:" + port
    swapped = {k: v.replace(upstream, host) for k, v in env.items()}
    argv = [a.replace(upstream, host) for a in command]
    sh(argv, swapped)
    proxy.send_signal(signal.SIGINT)
    _, err = proxy.communicate(timeout=30)
    for line in err.splitlines():
        if line.startswith("requests "):
            return int(line.split()[1])
    raise SystemExit("the counting proxy reported nothing: " + err[-500:])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kura", required=True)
    parser.add_argument("--psql", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--size", type=float, default=1.0)
    parser.add_argument("--json", default="bench-s3-results.json")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work, kura = args.work, args.kura
    endpoint, bucket = os.environ["KURA_TEST_S3"], os.environ["KURA_TEST_S3_BUCKET"]
    upstream = endpoint.replace("http://", "")
    proxy_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_proxy.py")
    site = Site(work, args.size, args.psql, args.url)
    started = time.time()
    site.generate()
    siteroot = os.path.join(work, "site")
    site_bytes = du(siteroot)
    print(f"site: {site_bytes / 1e6:,.0f} MB ({len(site.uploads)} media files) generated in {time.time() - started:.0f} s", file=sys.stderr)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["KURA_TEST_S3_ADMIN_KEY"], AWS_SECRET_ACCESS_KEY=os.environ["KURA_TEST_S3_ADMIN_SECRET"],
               AWS_DEFAULT_REGION="us-east-1", KURA_REPO=f"s3:{endpoint}/{bucket}/bench-kura", KURA_CACHE=f"{work}/kura-cache",
               KURA_PASSWORD_FILE=password_file(work),
               RESTIC_REPOSITORY=f"s3:{endpoint}/{bucket}/bench-restic", RESTIC_PASSWORD="bench", RESTIC_CACHE_DIR=f"{work}/restic-cache")
    tools = {
        "kura": {"init": [kura, "init"], "backup": [kura, "backup", "--media", site.media, "--database", args.url, "--tag", "bench"]},
        "restic": {"init": ["restic", "init", "-q"], "backup": ["restic", "backup", "-q", siteroot]},
    }
    results = {name: {} for name in tools}
    for name, tool in tools.items():
        sh(tool["init"], env)
        results[name]["first_backup"] = timed(tool["backup"], env)
        results[name]["no_change_backup"] = median_of(3, tool["backup"], env)
    site.night(1)
    for name, tool in tools.items():
        results[name]["night"] = timed(tool["backup"], env)
    one = sorted(p for p in site.uploads if os.path.exists(p) and "/payment_receipts/" in p)[0]
    relative = os.path.relpath(one, os.path.dirname(site.media))
    w = lambda name: q(f"{work}/{name}")
    k = q(kura)
    steps = {
        "kura": {
            "full_restore": f"{k} restore latest --target {w('out-kura')}",
            "one_file_warm": f"rm -rf {w('one-kura')} && {k} restore latest --target {w('one-kura')} --include {q('/' + relative)}",
            "one_file_cold": f"rm -rf {w('one-kura')} {w('kura-cache')} && {k} restore latest --target {w('one-kura')} --include {q('/' + relative)}",
            "export": f"rm -rf {w('exp')} && {k} export latest --output {w('exp')}",
            "verify_read_data": [kura, "verify", "--read-data"],
        },
        "restic": {
            "full_restore": f"restic restore -q latest --target {w('out-restic')} && sync",
            "one_file_warm": f"rm -rf {w('one-restic')} && restic restore -q latest --target {w('one-restic')} --include {q(os.path.join(siteroot, relative))}",
            "one_file_cold": f"rm -rf {w('one-restic')} {w('restic-cache')} && restic restore -q latest --target {w('one-restic')} --include {q(os.path.join(siteroot, relative))}",
            "export": f"restic dump -q latest {q(siteroot)} | gzip -1 > {w('restic.tar.gz')}",
            "verify_read_data": ["restic", "check", "-q", "--read-data"],
        },
    }
    for name, commands in steps.items():
        for step, command in commands.items():
            # A durable restore pays for whatever else is dirty on the filesystem (the server's
            # volumes, the steps before): untimed, the last restore's tree is removed and all is
            # flushed, so each tool is timed from no target and pays only for its own data (as in
            # tools/lib/bench.py; before 2026-12-01 the removal was timed).
            if step == "full_restore":
                sh(["bash", "-c", f"rm -rf {w('out-' + name)} && sync"], env)
            results[name][step] = median_of(5 if step == "one_file_warm" else 1, command, env)
    # Requests per GB stored: each tool's first backup again, into a new prefix, through a counter.
    for name in tools:
        counting = dict(env, KURA_REPO=f"s3:{endpoint}/{bucket}/count-kura", KURA_CACHE=f"{work}/count-cache",
                        RESTIC_REPOSITORY=f"s3:{endpoint}/{bucket}/count-restic", RESTIC_CACHE_DIR=f"{work}/count-restic-cache")
        sh(tools[name]["init"], counting)
        results[name]["first_backup_requests"] = counted_first_backup(tools[name]["backup"], counting, upstream, proxy_script)
    # Stored bytes: the repositories' sizes by listing.
    for name, prefix in (("kura", "bench-kura"), ("restic", "bench-restic")):
        out = subprocess.run(["aws", "--endpoint-url", endpoint, "s3", "ls", "--recursive", "--summarize", f"s3://{bucket}/{prefix}/"],
                             env=env, capture_output=True, text=True, check=True).stdout
        results[name]["repo_bytes"] = int(next(l for l in out.splitlines() if "Total Size" in l).split(":")[1])
    # kura copy: a local repository of the same site sent to a new S3 repository.
    local = dict(env, KURA_REPO=f"{work}/kura-local", KURA_CACHE=f"{work}/local-cache")
    sh([kura, "init"], local)
    sh(tools["kura"]["backup"], local)
    sh([kura, "init", "--repo", f"s3:{endpoint}/{bucket}/bench-copy"], local)
    results["kura"]["copy_to_s3"] = timed([kura, "copy", "--to", f"s3:{endpoint}/{bucket}/bench-copy"], local)
    results["kura"]["copy_to_s3"]["bytes"] = du(f"{work}/kura-local")
    checks = {
        "kura full restore": sh(["diff", "-r", site.media, f"{work}/out-kura/media"], check=False).returncode == 0,
        "restic full restore": sh(["diff", "-r", site.media, f"{work}/out-restic{site.media}"], check=False).returncode == 0,
        "kura one file": sh(["cmp", one, f"{work}/one-kura/{relative}"], check=False).returncode == 0,
    }
    report = {"site_bytes": site_bytes, "media_files": len(site.uploads), "size_arg": args.size, "results": results, "checks": checks,
              "server": "SeaweedFS 4.48 on loopback (weed server -s3)", "note": "page cache warm; Kura's backups include its own pg_dump"}
    publish(report, args.json, print_table)


def print_table(report):
    r = report["results"]
    k, rs = r["kura"], r["restic"]
    mb = report["site_bytes"] / 1e6
    per_gb = lambda tool: r[tool]["first_backup_requests"] / (r[tool]["repo_bytes"] / 1e9)
    rows = [
        ("first backup (s)", k["first_backup"]["wall"], rs["first_backup"]["wall"]),
        ("no-change backup (s)", k["no_change_backup"]["wall"], rs["no_change_backup"]["wall"]),
        ("a night (s)", k["night"]["wall"], rs["night"]["wall"]),
        ("full restore, durable (s)", k["full_restore"]["wall"], rs["full_restore"]["wall"]),
        ("one media file, warm cache (ms)", 1000 * k["one_file_warm"]["wall"], 1000 * rs["one_file_warm"]["wall"]),
        ("one media file, empty cache (ms)", 1000 * k["one_file_cold"]["wall"], 1000 * rs["one_file_cold"]["wall"]),
        ("export to tar.gz (s)", k["export"]["wall"], rs["export"]["wall"]),
        ("verify --read-data (s)", k["verify_read_data"]["wall"], rs["verify_read_data"]["wall"]),
        ("requests of a first backup per GB stored", per_gb("kura"), per_gb("restic")),
        ("peak RSS, any step (MB)", max(v["rss_mb"] for v in k.values() if isinstance(v, dict) and "rss_mb" in v),
         max(v["rss_mb"] for v in rs.values() if isinstance(v, dict) and "rss_mb" in v)),
        ("repository (MB)", k["repo_bytes"] / 1e6, rs["repo_bytes"] / 1e6),
    ]
    print(f"\nsite {mb:,.0f} MB ({report['media_files']} media files), repositories on {report['server']}\n")
    print(f"{'step':<42} {'kura':>10} {'restic':>10}   restic / kura")
    for label, kv, rv in rows:
        print(f"{label:<42} {kv:10.2f} {rv:10.2f}   {rv / kv:.2f}×")
    c = k["copy_to_s3"]
    print(f"\nkura copy of a local repository ({c['bytes'] / 1e6:,.0f} MB) to S3: {c['wall']:.2f} s, {c['bytes'] / 1e6 / c['wall']:.0f} MB/s")
    print("checks: " + ", ".join(f"{name} {'ok' if ok else 'FAILED'}" for name, ok in report["checks"].items()))


if __name__ == "__main__":
    main()
