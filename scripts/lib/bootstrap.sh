# Shared by scripts/up.sh and scripts/test.sh: make sure uv exists, then sync the environment.
# Sourced, not run.

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
