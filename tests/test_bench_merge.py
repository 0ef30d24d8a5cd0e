"""bench.suite --merge: one results.json from runs that each measured some modules."""

import json

from bench import suite


def _run(tmp_path, name, date, modules, load):
    result = {
        "date": date,
        "git_commit": "abc1234567890",
        "git_dirty": False,
        "machine": {"cpus": 2, "load_at_start": load},
        "sizes": {"contacts": 1000, "events": 10, "tag_links": 2, "segments": 1},
        "modules": {m: {"seconds": 1} for m in modules},
        "rows": [
            {
                "module": m,
                "workload": f"{m} {date}",
                "ours_s": 1,
                "raw_s": 1,
                "ratio": 1,
                "met": True,
                "target": "t",
                "why": "",
            }
            for m in modules
        ],
    }
    path = tmp_path / name
    path.write_text(json.dumps(result))
    return path


def test_merge_keeps_each_modules_latest_run_and_says_where_rows_came_from(tmp_path):
    early = _run(tmp_path, "a.json", "2026-01-01T10:00:00", ["pages", "engine"], 1.0)
    late = _run(tmp_path, "b.json", "2026-01-01T11:00:00", ["engine"], 2.0)

    merged = suite.merge([late, early])

    assert [r["workload"] for r in merged["rows"]] == [
        "engine 2026-01-01T11:00:00",  # the later run's engine, pages last as in a run
        "pages 2026-01-01T10:00:00",
    ]
    assert "pages from the run started 2026-01-01T10:00:00" in merged["note"]
    assert "engine from the run started 2026-01-01T11:00:00" in merged["note"]
    assert "Note: modules from runs" in suite.render(merged)
