# Sourced by scripts/*: make sure ./.venv exists and holds this checkout installed with its test extras.
# Re-installs only when pyproject.toml changed since the last install (stamp file in the venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "==> creating $VENV with $("$PYTHON" --version 2>&1)" >&2
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.actionmfa-installed"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  echo "==> installing actionmfa and its test extras into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2 || echo "    (could not upgrade pip; continuing)" >&2
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]" >&2
  echo "$WANT" > "$STAMP"
fi
