# Shared by scripts/main and scripts/test: make (or reuse) .venv with ctrnn installed.
# torch is pinned here to a CPU build for speed on fresh machines; pyproject.toml states the range.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check "torch==2.13.0"
python -m pip install -q --disable-pip-version-check -e ".[test]"
