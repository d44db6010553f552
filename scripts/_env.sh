# Sourced by scripts/demo and scripts/test: make the virtual environment if needed, install the
# pinned dependencies (constraints.txt), and set Prefect up for its embedded (ephemeral) mode.
set -euo pipefail
# Owner-only: the store, outputs, backups and Prefect's database (which holds flow logs) are
# created readable by this user alone (the code also sets 0700/0600 explicitly).
umask 077
# The caller's folder: scripts/flow and scripts/demo run their command there, so relative paths
# (an export, a manifest, --store, --out) mean what the caller means; setup happens at the root.
REUNITE_CALLER_DIR="$PWD"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REUNITE_ROOT="$PWD"

if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ] || [ constraints.txt -nt .venv/.installed ]; then
  PY=""
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$candidate; break
    fi
  done
  [ -n "$PY" ] || { echo "Reunite needs Python >= 3.11 (python3.11 not found)" >&2; exit 1; }
  echo "Setting up .venv with $PY (first run only) ..." >&2
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
  touch .venv/.installed
fi

# Prefect: embedded ephemeral API, home inside the project unless set, no telemetry.
# Absolute, so that it is the same folder from wherever the command runs.
PREFECT_HOME="${PREFECT_HOME:-$REUNITE_ROOT/.prefect}"
case "$PREFECT_HOME" in /*) ;; *) PREFECT_HOME="$REUNITE_CALLER_DIR/$PREFECT_HOME" ;; esac
export PREFECT_HOME
[ -d "$PREFECT_HOME" ] || mkdir -p -m 700 "$PREFECT_HOME"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-90}"
# INFO reaches the API log (each run page in the UI); the terminal's console handler stays at
# WARNING, so `scripts/flow` prints its summary lines and warnings only.
export PREFECT_LOGGING_LEVEL="${PREFECT_LOGGING_LEVEL:-INFO}"
export PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="${PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL:-WARNING}"
# A server started by scripts/prefect streams run logs to `prefect deployment run --watch`.
export PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED="${PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED:-true}"
export PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED="${PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED:-true}"
