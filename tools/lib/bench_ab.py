"""tools/bench-ab: two kura binaries on the same generated site, runs alternating (A, B, A, B, …),
medians and ratios of first backup, full restore, one file restored, opening the repository
(`kura snapshots`), export and verify --read-data. For comparing builds (compiler flags, one
change at a time) or repository kinds (`--init-a 'init --no-encryption' --init-b init`: the cost
of encryption); tools/bench compares Kura with restic and borg. Repositories are encrypted unless
the init arguments say otherwise; the password comes from a file (KURA_PASSWORD_FILE).

The site is the media of tools/bench's generator plus a SQLite database of payments (no
PostgreSQL server needed)."""
import argparse
import json
import os
import shlex
import shutil
import sqlite3
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench import Site, timed  # noqa: E402


def make_database(path, rows):
    database = sqlite3.connect(path)
    database.execute("CREATE TABLE payment (id INTEGER PRIMARY KEY, student INTEGER, amount REAL, paid_on TEXT, note TEXT)")
    database.executemany("INSERT INTO payment (student, amount, paid_on, note) VALUES (?, ?, ?, ?)",
                         ((g % 5000, (g % 997) * 1.5, f"2026-{g % 12 + 1:02d}-{g % 28 + 1:02d}", f"paiement {g} re\u00e7u")
                          for g in range(rows)))
    database.commit()
    database.close()


def steps(kura, init, work, site):
    """The steps on a fresh repository made by `kura INIT…`; returns {step: timing}."""
    repo, target, one, export = (os.path.join(work, name) for name in ("repo", "restore", "one", "export"))
    for path in (repo, target, one, export):
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    password = os.path.join(work, "password")
    with open(os.open(password, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write("bench password, long enough to be random\n")
    env = dict(os.environ, KURA_REPO=repo, KURA_CACHE=os.path.join(work, "cache"), KURA_PASSWORD_FILE=password)
    shutil.rmtree(env["KURA_CACHE"], ignore_errors=True)
    timed([kura] + init, env)
    receipt = sorted(p for p in site.uploads if "/payment_receipts/" in p)[0]
    relative = "media/" + os.path.relpath(receipt, site.media)
    result = {
        "first backup": timed([kura, "backup", "--media", site.media, "--database", "sqlite://" + site.database], env),
        "full restore": timed([kura, "restore", "latest", "--target", target], env),
    }
    # Short steps: the median of 5.
    walls = sorted((timed(["bash", "-c", f"rm -rf {shlex.quote(one)} && {shlex.quote(kura)} restore latest --target {shlex.quote(one)} "
                                         f"--include {shlex.quote('/' + relative)}"], env) for _ in range(5)), key=lambda r: r["wall"])
    result["one file restore"] = walls[2]
    result["open (snapshots)"] = sorted((timed([kura, "snapshots"], env) for _ in range(5)), key=lambda r: r["wall"])[2]
    result["export"] = timed([kura, "export", "latest", "--output", export], env)
    result["verify --read-data"] = timed([kura, "verify", "--read-data"], env)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True, help="first kura binary")
    parser.add_argument("--b", required=True, help="second kura binary")
    parser.add_argument("--label-a", default="A")
    parser.add_argument("--label-b", default="B")
    parser.add_argument("--init-a", default="init", help="kura arguments that make A's repository (default: init)")
    parser.add_argument("--init-b", default="init", help="kura arguments that make B's repository")
    parser.add_argument("--size", type=float, default=1.0, help="site size in GiB (about)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", required=True)
    parser.add_argument("--json")
    args = parser.parse_args()
    site = Site(os.path.join(args.work, "data"), args.size, psql=None, url=None)
    site.generate_media()
    site.database = os.path.join(args.work, "data", "site.sqlite3")
    make_database(site.database, int(1_500_000 * args.size))
    runs = {args.label_a: [], args.label_b: []}
    for _ in range(args.runs):
        for label, kura, init in ((args.label_a, args.a, args.init_a), (args.label_b, args.b, args.init_b)):
            runs[label].append(steps(kura, shlex.split(init), os.path.join(args.work, "run"), site))
    print(f"{'step':22} {args.label_a + ' median (min-max)':>26} {args.label_b + ' median (min-max)':>26} {'B/A':>6}")
    table = {}
    for step in runs[args.label_a][0]:
        walls = {label: [run[step]["wall"] for run in results] for label, results in runs.items()}
        medians = {label: statistics.median(values) for label, values in walls.items()}
        ratio = medians[args.label_b] / medians[args.label_a] if medians[args.label_a] else 0
        cells = [f"{medians[label]:.2f} s ({min(walls[label]):.2f}-{max(walls[label]):.2f})" for label in (args.label_a, args.label_b)]
        print(f"{step:22} {cells[0]:>26} {cells[1]:>26} {ratio:6.3f}")
        table[step] = {"walls": walls, "medians": medians, "ratio_b_over_a": round(ratio, 4)}
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"size_gib": args.size, "runs": args.runs, "init": {args.label_a: args.init_a, args.label_b: args.init_b},
                       "steps": table}, file, indent=2)


if __name__ == "__main__":
    main()
