#!/usr/bin/env bash
# Make .venv ready for `make run` (runtime packages) or `make test` (plus test tools).
#
#   scripts/bootstrap.sh run|dev
#
# Finds Python 3.13 (pyenv honours .python-version; any python3 >= 3.12 will do),
# creates .venv, and installs the pinned requirements only when they changed since the
# last install (a stamp in .venv records their hash). Front-end packages are installed
# the same way when the project has a package.json.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-run}"
case "$kind" in
  run) requirements=requirements.txt ;;
  dev) requirements=requirements-dev.txt ;;
  *) echo "usage: $0 run|dev" >&2; exit 2 ;;
esac

python_ok() {  # a usable interpreter at least 3.12
  "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3 python3.12; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -x .venv/bin/python ] && ! python_ok .venv/bin/python; then
  echo "bootstrap: .venv holds an unusable or too old Python; making it again"
  rm -rf .venv
fi

if [ ! -x .venv/bin/python ]; then
  if ! python="$(find_python)"; then
    echo "bootstrap: Engage needs Python 3.13 (3.12 at least) and none was found." >&2
    echo "  Install python3.13 (or run 'pyenv install 3.13', which .python-version asks for)," >&2
    echo "  or point PYTHON at one: make run PYTHON=/path/to/python3.13" >&2
    exit 1
  fi
  echo "bootstrap: creating .venv with $("$python" --version) ($python)"
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
fi

# The hash covers every requirements file, since the dev list includes the runtime one.
want="$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1) $(.venv/bin/python -V)"
stamp=".venv/.engage-$kind"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing $requirements"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
fi

if [ -f package.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: package.json needs npm (Node.js); install nodejs and npm" >&2
    exit 1
  fi
  front="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
  front_stamp="node_modules/.engage-stamp"
  if [ "$(cat "$front_stamp" 2>/dev/null)" != "$front" ]; then
    echo "bootstrap: installing front-end packages"
    if [ -f package-lock.json ]; then
      npm ci --no-audit --no-fund
    else
      npm install --no-audit --no-fund
    fi
    cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1 >"$front_stamp"
  fi
fi
