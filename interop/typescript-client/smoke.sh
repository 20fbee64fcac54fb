#!/usr/bin/env bash
# Smoke test of client.mjs against the harness's reference stack, run by hand:
#   bash smoke.sh            (after `npm ci`; MCP_AUTHZ=path/to/mcp-authz to pick the binary)
# Starts `mcp-authz serve --auto-approve` on free ports, runs the client with --tool echo, and
# checks that it printed the echoed text. Exits non-zero on a failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${MCP_AUTHZ:-}"
if [ -z "$bin" ]; then
  for candidate in "$root/target/release/mcp-authz" "$root/target/debug/mcp-authz"; do
    if [ -x "$candidate" ]; then bin="$candidate"; break; fi
  done
fi
if [ -z "$bin" ]; then
  echo "FAIL no mcp-authz binary: build it (cargo build -p mcp-authz) or set MCP_AUTHZ" >&2
  exit 1
fi

work="$(mktemp -d)"
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --auto-approve --as-port 0 --rs-port 0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(awk '/^MCP server/ {print $3}' "$work/serve.out")"
  if [ -n "$url" ]; then break; fi
  if ! kill -0 "$serve_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "FAIL mcp-authz serve printed no MCP server URL" >&2
  cat "$work/serve.out" "$work/serve.err" >&2
  exit 1
fi
echo "serve: $url"

status=0
node "$here/client.mjs" --tool echo --arguments '{"text":"smoke hello"}' "$url" >"$work/client.out" 2>"$work/client.err" || status=$?
expected='{"content":[{"type":"text","text":"smoke hello"}],"isError":false}'
actual="$(cat "$work/client.out")"
if [ "$status" -eq 0 ] && [ "$actual" = "$expected" ]; then
  echo "PASS client authorized itself and echo answered: $actual"
else
  echo "FAIL client exit status $status, stdout: $actual (expected $expected)" >&2
  cat "$work/client.err" >&2
  exit 1
fi
