"""The readable end of a soak run: one table of outcomes, one of memory per process."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render(data: dict[str, Any], console: Console) -> None:
    cfg = data["config"]
    table = Table(title=f"soak {data['run']} — {'OK' if data['ok'] else 'FAILED'}", show_header=False)
    table.add_column(justify="right", style="bold")
    table.add_column()
    rows = [
        ("configuration", f"{cfg['docs']} docs at {cfg['rate']}/s, {cfg['minutes']} min, {cfg['workers']} worker(s)"),
        ("broker", f"{data['bootstrap']} ({'own local broker' if data['own_broker'] else 'existing cluster'}, "
                   f"Kafka {data['environment'].get('kafka')})"),
        ("published", f"{data['published']} in {data['publish_seconds']}s ({data['achieved_rate']}/s achieved)"),
        ("accounted for", str(data["accounted_for"])),
        ("lost", f"[{'green' if data['lost'] == 0 else 'red'}]{data['lost']}[/]"),
        ("delivered twice", f"{data['delivered_twice']} ids ({data['redelivered_messages']} extra messages)"),
        ("by terminal topic", ", ".join(f"{k} {v}" for k, v in sorted(data["by_topic"].items())) or "-"),
        ("drain after last publish", "never" if data["drain_seconds"] is None else f"{data['drain_seconds']}s"),
        ("max lag per stage", ", ".join(f"{k} {v}" for k, v in data["max_lag"].items()) or "-"),
        ("samples", f"{len(data['samples'])} over {data['total_seconds']}s"),
    ]
    if data["worker_exits"]:
        rows.append(("worker exits", "; ".join(f"worker-{e['worker']} code {e['code']} at {e['t']}s"
                                              for e in data["worker_exits"])))
    if data.get("stopped_early"):
        rows.append(("stopped early", f"[red]{data['stopped_early']}[/]"))
    if data.get("publish_error"):
        rows.append(("publish error", data["publish_error"]))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)

    memory = Table(title="resident memory (MB)")
    for column in ("process", "start", "end", "max", "slope after warm-up (MB/min)"):
        memory.add_column(column, justify="right" if column != "process" else "left")
    for label, stats in data["rss_mb"].items():
        memory.add_row(label, *("-" if stats[k] is None else str(stats[k])
                                for k in ("start", "end", "max", "slope_mb_per_min")))
    console.print(memory)
    files = data.get("files", {})
    for name in ("json", "png"):
        if files.get(name):
            console.print(f"{name}: {files[name]}")
