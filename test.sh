#!/usr/bin/env bash
# Set up whatever is missing, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh
# Messages built with a wrong field name raise instead of silently dropping the value.
export ROS_PYTHON_CHECK_FIELDS=1
exec .venv/bin/python -m pytest -rs test "$@"
