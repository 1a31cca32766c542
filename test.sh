#!/usr/bin/env bash
# Set up whatever is missing, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh
exec .venv/bin/python -m pytest -rs test "$@"
