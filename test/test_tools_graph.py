"""`tsjnet-graph` runs the node graph in one process from the shared YAML."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO_ROOT


def test_graph_runs_and_writes_summary_and_pngs(tmp_path):
    out = tmp_path / "graph"
    proc = subprocess.run(
        [sys.executable, "-m", "tsjnet_ros.tools.graph", "--duration", "5", "--output-dir", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[tsjnet-graph] summary" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    # The default graph runs the shipped model: a few frames per second on a loaded 2-core CPU.
    assert summary["fused"] >= 3 and summary["recorded"] >= 3
    assert summary["sent"]["ir"] >= summary["received"]["ir"] > 0
    assert summary["invalid"] == {"ir": 0, "visible": 0}
    assert summary["end_to_end_latency_ms"]["p50"] > 0
    assert summary["saved"] and all((out / p.split("/")[-1]).is_file() for p in summary["saved"])


def test_graph_rejects_missing_params_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tsjnet_ros.tools.graph", "--params", str(tmp_path / "none.yaml")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "parameter file not found" in proc.stderr
