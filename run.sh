#!/usr/bin/env bash
# Set up (first run only) and run the main job: the tsjnet_ros node graph on the
# built-in synthetic IR/visible cameras, or on your own topics with `--input topics`.
# Any arguments are passed to `tsjnet-graph` (see `./run.sh --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh
exec .venv/bin/tsjnet-graph "$@"
