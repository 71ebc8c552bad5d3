"""Soak test: documents at a fixed rate through the real broker and worker(s), sampled over time.

    python -m ops.soak --docs 5000 --rate 20 --minutes 5 --out /tmp/soak

See ops/soak/README.md. The logic is in `ops.soak.run`, the chart in `ops.soak.plot` (matplotlib is
imported only there, and only when a chart is drawn).
"""
