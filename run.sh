#!/usr/bin/env bash
# Set up (first run only) and run the main job: make a bag (built-in synthetic camera
# pair, or your bag / folder of pairs), replay it through the node graph, write a report.
# Arguments go to `tsjnet-run` (see `./run.sh --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh
exec .venv/bin/tsjnet-run "$@"
