# Shared by scripts/up.sh, scripts/test.sh and scripts/openapi.sh: make sure uv exists, sync
# the environment, build the Console, find Chromium for its tests. Sourced, not run.

step() { printf '\n==> %s\n' "$*" >&2; }

ensure_uv() {
  export PATH="$HOME/.local/bin:$PATH"
  if command -v uv >/dev/null 2>&1; then return 0; fi
  step "Installing uv (Python package manager) with pip"
  if ! python3 -m pip install --quiet uv; then
    echo "error: could not install uv with 'python3 -m pip install uv'." >&2
    echo "       Install Python 3.11+ with pip, or install uv yourself, then run this again." >&2
    exit 1
  fi
  command -v uv >/dev/null 2>&1 || { echo "error: uv installed but not on PATH" >&2; exit 1; }
}

sync_env() {
  # $@: extra flags for uv sync (extras, groups)
  step "Installing Steward's Python dependencies (uv sync $*)"
  if grep -q 'llamacpp' <<<"$*" && ! uv run --no-sync python -c 'import llama_cpp' 2>/dev/null; then
    echo "    llama-cpp-python compiles from source on the first run: about 6 minutes on two" >&2
    echo "    cores. The built wheel is cached, so later runs take seconds." >&2
  fi
  uv sync --locked "$@"
}

require_node() {
  # The Console is built with Node.js 18.18+ and npm (only to build it: nothing runs on Node).
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: building the Console needs Node.js (18.18 or newer) and npm, which are not" >&2
    echo "       installed. On Debian or Ubuntu: sudo apt-get install nodejs npm; elsewhere see" >&2
    echo "       https://nodejs.org/en/download. Then run this again." >&2
    return 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 18 ]; then
    echo "error: the Console needs Node.js 18.18 or newer; this is $(node --version)." >&2
    return 1
  fi
}

console_deps() {
  # npm ci when node_modules is missing or older than package-lock.json.
  local stamp=frontend/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ frontend/package-lock.json -nt "$stamp" ]; then
    step "Installing the Console's packages (npm ci in frontend/)"
    (cd frontend && npm ci --no-audit --no-fund)
  fi
}

console_stale() {
  # True when frontend/out is missing or older than any of its sources.
  local built=frontend/out/index.html
  [ -f "$built" ] || return 0
  [ -n "$(find frontend/src frontend/public frontend/package.json frontend/package-lock.json \
    frontend/openapi.json frontend/tsconfig.json frontend/next.config.* \
    -newer "$built" -print -quit 2>/dev/null)" ]
}

build_console() {
  # Build the Console's static export (frontend/out, which Edge serves at /) when it is
  # missing or older than its sources; otherwise do nothing.
  [ -f frontend/package.json ] || { echo "    (no frontend/ here: no Console to build)" >&2; return 0; }
  if ! console_stale; then
    step "Console is built (frontend/out is newer than its sources)"
    return 0
  fi
  require_node || return 1
  console_deps || return 1
  step "Building the Console (npm run build in frontend/: about a minute)"
  (cd frontend && npm run build) || {
    echo "error: the Console's build failed (output above). Fix it, or build by hand:" >&2
    echo "       cd frontend && npm ci && npm run build" >&2
    return 1
  }
  [ -f frontend/out/index.html ] || {
    echo "error: npm run build finished but wrote no frontend/out/index.html; is" >&2
    echo "       output: \"export\" still set in frontend/next.config.mjs?" >&2
    return 1
  }
}

typecheck_console() {
  [ -f frontend/package.json ] || return 0
  require_node || return 1
  console_deps || return 1
  step "Console: strict TypeScript check (npm run typecheck)"
  (cd frontend && npm run --silent typecheck)
}

ensure_chromium() {
  # The Console's end-to-end tests drive Debian's headless Chromium (STEWARD_CHROMIUM
  # names another Chromium binary).
  local chromium=${STEWARD_CHROMIUM:-/usr/bin/chromium}
  [ -x "$chromium" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "Installing Chromium for the Console's browser tests (apt-get install chromium)"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium && return 0
  fi
  echo "error: the Console's browser tests need Chromium at $chromium, which is missing." >&2
  echo "       Install it (Debian/Ubuntu: sudo apt-get install chromium), or point" >&2
  echo "       STEWARD_CHROMIUM at a Chromium or Chrome binary, then run this again." >&2
  return 1
}

ensure_postgres() {
  # The backend tests run on SQLite and on the PostgreSQL at 127.0.0.1:5432 (trust auth).
  # Start the local cluster if it is installed but stopped; otherwise the tests say how.
  [ "${STEWARD_TEST_DATABASES:-}" = sqlite ] && return 0
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    step "Starting the local PostgreSQL for the tests (pg_ctlcluster ... main start)"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
}
