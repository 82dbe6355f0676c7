#!/usr/bin/env bash
# Installs what is missing on a fresh machine (Deno from npm; nats-server, and curl and jq that
# tests/docs/runbook_test.ts runs the runbook's commands with, from apt), then runs
# the quickstart fleet (`demo`) or the whole test suite (`test`). The test run ends with one
# line, "N passed, N failed", taken from Deno's own summary.
set -euo pipefail
cd "$(dirname "$0")/../.."

need_deno() {
  if command -v deno >/dev/null 2>&1; then return; fi
  echo "bootstrap: installing Deno 2 from npm" >&2
  npm install -g --no-fund --no-audit deno@2 >&2
  if ! command -v deno >/dev/null 2>&1; then
    export PATH="$(npm prefix -g)/bin:$PATH"
  fi
  command -v deno >/dev/null 2>&1 || { echo "bootstrap: deno is not on PATH after install" >&2; exit 1; }
}

need_apt() {
  local missing=()
  if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
    missing+=(nats-server)
  fi
  for tool in curl jq; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -eq 0 ]; then return; fi
  echo "bootstrap: installing ${missing[*]} from apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
}

need_deno
need_apt
export PATH="$PATH:/usr/sbin"
export NO_COLOR=1
# Fill the module cache once: the daemons run with --cached-only and load nothing at run time.
deno install --quiet --entrypoint master/main.ts peel/main.ts peel/broker/main.ts cli/main.ts \
  deploy/dev/quickstart.ts >&2

case "${1:-}" in
  demo)
    exec deno task demo
    ;;
  test)
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    set +e
    deno task test 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    summary="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1 || true)"
    passed="$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")"
    failed="$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")"
    if [ -z "$summary" ]; then passed=0; failed=1; [ "$rc" -ne 0 ] || rc=1; fi
    echo "$passed passed, $failed failed"
    exit "$rc"
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
