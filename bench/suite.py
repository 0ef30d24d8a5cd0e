"""`make bench`: the benchmark dataset made (once), then every workload beside its raw
baseline, in one run; one table, bench/results.json and docs/performance.md.

A workload module is any bench/*.py with a top-level `workloads(size)` returning rows
{"workload", "ours_s", "raw_s", "ratio", "rows", "target", "met", "why"} and, when it
knows them, "rows_per_s" and "peak_worker_mb". Each module runs in a process of its
own (`python -m bench.suite --module NAME`): what one patches (a listener switched off,
a dispatcher replaced) cannot leak into the next, and the child's peak memory is read
from the operating system when the module does not give its own.

    make bench                                    (BENCH_CONTACTS, default 1,000,000)
    BENCH_CONTACTS=2000 python -m bench.suite     (a tiny run)
    python -m bench.suite --only exports,upsert   (some modules)
    python -m bench.suite --render                (docs/performance.md from results.json)
    python -m bench.suite --merge a.json b.json   (one results.json from runs of some modules)

BENCH_RESULTS (default bench/results.json) and BENCH_DOCS (default
docs/performance.md; "-" for none) say where the results go.
"""

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import common

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NOT_WORKLOADS = {"__init__", "common", "dataset", "suite"}
# Run after the others: bench.pages fills the workspace up to 500 segments (the
# dashboard's case) and keeps them, which leaves no room for rules made by others.
LAST = ["pages"]
NUMBERS = ("ours_s", "raw_s", "ratio", "rows", "rows_per_s", "peak_worker_mb")


def results_path() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or BENCH / "results.json")


def docs_path() -> Path | None:
    given = os.environ.get("BENCH_DOCS", str(ROOT / "docs" / "performance.md"))
    return None if given == "-" else Path(given)


def workload_modules() -> list[str]:
    """bench modules with a top-level `workloads` function, found without importing
    them (a module's import may set Django up its own way)."""
    found = []
    for path in sorted(BENCH.glob("*.py")):
        if path.stem in NOT_WORKLOADS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.FunctionDef) and n.name == "workloads" for n in tree.body):
            found.append(path.stem)
    return sorted(found, key=lambda name: (name in LAST, name))


# ---------------------------------------------------------------- one module (child)


def run_module(name: str, size: int, out: Path) -> None:
    """In the child: the module's rows, as JSON, into `out`."""
    import importlib

    common.setup()  # Django ready before the module's imports, whatever they are
    module = importlib.import_module(f"bench.{name}")
    rows = module.workloads(size)
    out.write_text(json.dumps(rows, default=str), encoding="utf-8")


def _normalise(row: dict, module: str, child_peak_mb: float) -> dict:
    row = {**row, "module": module}
    for key in NUMBERS:
        if row.get(key) is not None:
            row[key] = float(row[key])
    ours, raw = row.get("ours_s"), row.get("raw_s")
    if row.get("ratio") is None and ours and raw:
        row["ratio"] = ours / raw
    if "rows_per_s" not in row and ours and row.get("rows"):
        row["rows_per_s"] = row["rows"] / ours
    if row.get("peak_worker_mb") is None:
        row["peak_worker_mb"] = child_peak_mb
        row["peak_is"] = "the module's process"
    row["met"] = bool(row.get("met"))
    row.setdefault("why", "")
    row.setdefault("target", "")
    return row


def measure(name: str, size: int) -> tuple[list[dict], dict]:
    """Run one module in a child process; (rows, what happened)."""
    with tempfile.TemporaryDirectory(prefix="kith-bench-") as folder:
        out = Path(folder) / "rows.json"
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.suite", "--module", name, "--out", str(out)],
            cwd=ROOT,
            env={
                **os.environ,
                "BENCH_CONTACTS": str(size),
                "BENCH_MIGRATED": os.environ["DATABASE_URL"],  # by common.setup() here
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = []
        for line in child.stdout:  # shown as it comes, kept for the error report
            print(f"   | {line}", end="", file=sys.stderr, flush=True)
            lines.append(line)
        log = "".join(lines)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        peak_mb = usage.ru_maxrss / 1024
        info = {"seconds": round(seconds, 1), "peak_mb": round(peak_mb), "exit": child.returncode}
        if child.returncode or not out.exists():
            info["error"] = log[-4000:]
            return [], info
        rows = [_normalise(r, name, peak_mb) for r in json.loads(out.read_text())]
        info["rows"] = len(rows)
        return rows, info


# ---------------------------------------------------------------- the whole run


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


def machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": memory_gb,
        "load_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": server,
    }


def dataset_counts(workspace) -> dict:
    from contacts.models import Contact, ContactTag, Event
    from segments.models import Segment

    return {
        "contacts": Contact.objects.filter(workspace=workspace).count(),
        "events": Event.objects.filter(workspace=workspace).count(),
        "tag_links": ContactTag.objects.filter(contact__workspace=workspace).count(),
        "filter_segments": Segment.objects.filter(workspace=workspace, kind="filter").count(),
    }


def run(size: int | None, only: list[str] | None = None) -> dict:
    common.setup()
    from bench import dataset

    started = time.perf_counter()
    workspace, wanted = dataset.ensure(size)
    size = wanted["contacts"]
    dataset_s = time.perf_counter() - started
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "machine": machine(),
        "sizes": {**wanted, "actual": dataset_counts(workspace)},
        "dataset_ready_s": round(dataset_s, 1),
        "modules": {},
        "rows": [],
    }
    for name in only or workload_modules():
        print(f"== bench.{name} at {size:,} contacts", file=sys.stderr, flush=True)
        rows, info = measure(name, size)
        results["modules"][name] = info
        results["rows"] += rows
        save(results)  # after each module: a run stopped midway keeps what it measured
        if "error" in info:
            print(f"   FAILED (exit {info['exit']}):\n{info['error']}", file=sys.stderr)
        else:
            print(f"   {len(rows)} rows in {info['seconds']:.0f} s", file=sys.stderr, flush=True)
    return results


# ---------------------------------------------------------------- showing results


def _fmt_s(value) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _fmt_num(value, unit: str = "") -> str:
    return "–" if value is None else f"{value:,.0f}{unit}"


def table_rows(results: dict) -> list[list[str]]:
    rows = []
    for r in results["rows"]:
        ratio = r.get("ratio")
        rows.append(
            [
                r["workload"],
                _fmt_s(r.get("ours_s")),
                _fmt_s(r.get("raw_s")),
                "–" if ratio is None else f"{ratio:.2f}x",
                _fmt_num(r.get("rows_per_s")),
                _fmt_num(r.get("peak_worker_mb"), " MB"),
                r.get("target", ""),
                "met" if r["met"] else "NOT met",
            ]
        )
    return rows


HEADER = ["workload", "ours", "raw", "ours/raw", "rows/s", "peak memory", "target", ""]


def print_table(results: dict) -> None:
    rows = [HEADER, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    failed = [n for n, info in results["modules"].items() if "error" in info]
    if failed:
        print(f"Modules that failed: {', '.join(failed)} (see results.json)")


def render(results: dict) -> str:
    """docs/performance.md: the table, then a line per target."""
    sizes, m = results["sizes"], results["machine"]
    actual = sizes.get("actual", {})
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (bench/suite.py) from bench/results.json; do not edit by hand.",
        "Every workload is measured beside its raw baseline (hand-written SQL, or the",
        "plain way the feature replaces) in the same run, so the ratio holds while the",
        "machine's load moves. Samples are drawn with fixed seeds.",
        "",
        f"- Run: {results['date']}, commit `{results['git_commit'][:10]}`"
        + (" (with uncommitted changes)" if results.get("git_dirty") else ""),
        f"- Machine: {m.get('cpus')} CPUs ({m.get('cpu') or 'unknown'}), "
        f"{m.get('memory_gb')} GB, PostgreSQL {m.get('postgresql')}, Python {m.get('python')}, "
        f"load {m.get('load_at_start') or 0:.1f} at start (other work shares it)",
        f"- Dataset: {actual.get('contacts', sizes['contacts']):,} contacts, "
        f"{actual.get('events', sizes['events']):,} events, "
        f"{actual.get('tag_links', sizes['tag_links']):,} tag links, "
        f"{actual.get('filter_segments', sizes['segments'])} filter segments "
        "(bench/dataset.py)",
        *([f"- Note: {results['note']}"] if results.get("note") else []),
        "",
        "| " + " | ".join(HEADER[:-1] + ["met"]) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in table_rows(results):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    lines += ["", "## Targets", ""]
    for r in results["rows"]:
        verdict = "met" if r["met"] else "**not met**"
        why = f": {r['why']}" if r.get("why") else ""
        lines.append(f"- {r['workload']} — {r.get('target') or 'no target'}: {verdict}{why}")
    failed = {n: i for n, i in results["modules"].items() if "error" in i}
    if failed:
        lines += ["", "## Modules that did not finish", ""]
        for name, info in failed.items():
            last = info["error"].strip().splitlines()[-1:] or [""]
            lines.append(f"- bench.{name}: exit {info['exit']}, `{last[0][:200]}`")
    lines += [
        "",
        "`ours` and `raw` are wall times (a page's p95 where the workload says so);",
        "`ours/raw` is their ratio; `peak memory` is the worker's peak resident set, or",
        "the whole module process's where the workload gives none.",
        "",
    ]
    return "\n".join(lines)


def save(results: dict) -> None:
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    docs = docs_path()
    if docs is not None:
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(render(results), encoding="utf-8")


def merge(paths: list[Path]) -> dict:
    """One result from runs of some modules each (e.g. run while other work changed
    the rest): a module measured twice keeps its later run; the machine and sizes are
    the first run's, and the note says which run each module came from."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    runs.sort(key=lambda r: r["date"])
    merged = {**runs[0], "modules": {}, "rows": []}
    source = {}
    for one in runs:
        for name, info in one["modules"].items():
            merged["modules"][name] = info
            source[name] = one
    for name in sorted(merged["modules"], key=lambda n: (n in LAST, n)):
        merged["rows"] += [r for r in source[name]["rows"] if r.get("module") == name]
    merged["git_dirty"] = any(r.get("git_dirty") for r in runs)
    merged["git_commit"] = runs[-1]["git_commit"]
    merged["date"] = runs[-1]["date"]
    merged["note"] = "modules from runs on the same dataset: " + "; ".join(
        f"{', '.join(sorted(n for n, r in source.items() if r is one))} from the run started "
        f"{one['date']} (commit {one['git_commit'][:10]}, load "
        f"{one['machine'].get('load_at_start') or 0:.1f} at start)"
        for one in runs
        if one in source.values()
    )
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite")
    parser.add_argument("--module", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated module names")
    parser.add_argument("--render", action="store_true", help="docs from results.json only")
    parser.add_argument("--merge", nargs="+", type=Path, help="results of runs to combine")
    args = parser.parse_args(argv)
    if args.merge:
        save(merge(args.merge))
        return 0
    if args.module:
        run_module(args.module, int(os.environ["BENCH_CONTACTS"]), Path(args.out))
        return 0
    if args.render:
        results = json.loads(results_path().read_text(encoding="utf-8"))
        docs = docs_path()
        if docs is not None:
            docs.write_text(render(results), encoding="utf-8")
        return 0
    size = int(os.environ["BENCH_CONTACTS"]) if os.environ.get("BENCH_CONTACTS") else None
    only = args.only.split(",") if args.only else None
    results = run(size, only)
    save(results)
    print_table(results)
    print(f"Results: {results_path()}")
    return 1 if any("error" in i for i in results["modules"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
