"""The soak chart: lag per stage, progress, and RSS per process over time (matplotlib, Agg backend).

Imported only when a chart is drawn, so `python -m ops.soak --help` and the run itself need no
matplotlib (`pip install -e ".[bench]"` brings it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = report["samples"]
    t = [s["t"] for s in samples]
    fig, (ax_lag, ax_done, ax_rss) = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    cfg = report["config"]
    fig.suptitle(f"newsflow soak {report['run']}: {report['published']} docs at {cfg['rate']}/s, "
                 f"{cfg['workers']} worker(s); lost {report['lost']}, delivered twice {report['delivered_twice']}")

    stages = list(dict.fromkeys(stage for s in samples for stage in s["lag"]))  # pipeline order
    for stage in stages:
        ax_lag.plot(t, [s["lag"].get(stage) for s in samples], label=f"{stage} (input lag)")
    ax_lag.set_ylabel("records waiting")
    ax_lag.set_title("consumer-group lag per stage")
    ax_lag.legend(loc="upper left")
    ax_lag.grid(alpha=0.3)

    ax_done.plot(t, [s["published"] for s in samples], label="published")
    ax_done.plot(t, [s["accounted"] for s in samples], label="accounted for")
    ax_done.set_ylabel("documents")
    ax_done.set_title("progress")
    ax_done.legend(loc="upper left")
    ax_done.grid(alpha=0.3)

    labels = list(dict.fromkeys(label for s in samples for label in s["rss_mb"]))
    for label in labels:
        ax_rss.plot(t, [s["rss_mb"].get(label) for s in samples], label=label)
    ax_rss.set_ylabel("RSS (MB)")
    ax_rss.set_xlabel("seconds since start")
    ax_rss.set_title("resident memory per process")
    ax_rss.legend(loc="upper left")
    ax_rss.grid(alpha=0.3)

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
