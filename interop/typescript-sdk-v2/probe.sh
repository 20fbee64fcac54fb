#!/usr/bin/env bash
# Probes server.mjs by hand with curl, in both protocol eras, printing each exchange (status,
# headers, body) under a numbered heading; README.md's observations were recorded from this
# output. Needs `npm ci` here and in ../typescript-sdk, whose throwaway authorization server
# (probe-as.mjs: an ES256 key, its JWKS, GET /mint?aud=..&scope=..&typ=..) it reuses. Starts
# that AS and two servers on loopback port 0 and stops them on exit. A few seconds.
set -u
cd "$(dirname "$0")"

wait_line() { # file pattern: prints the first line of file matching pattern, waiting up to 20 s
    for _ in $(seq 200); do
        if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1"; return 0; fi
        sleep 0.1
    done
    echo "no '$2' in $1" >&2; exit 1
}

tmp=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

node ../typescript-sdk/probe-as.mjs >"$tmp/as.out" & pids+=($!)
A=$(wait_line "$tmp/as.out" '^http')
start_server() { # name env...: starts server.mjs with ISSUER=$A on port 0
    env PORT=0 ISSUER="$A" "${@:2}" node server.mjs >"$tmp/$1.out" & pids+=($!)
}
url_of() { wait_line "$tmp/$1.out" '^listening on ' | sed 's/^listening on //'; }
start_server main
start_server scoped REQUIRED_SCOPES=mcp:read
M=$(url_of main)
B=${M%/mcp}
M2=$(url_of scoped)

ACCEPT='accept: application/json, text/event-stream'
show() { tr -d '\r' | grep -iv '^date\|^etag\|^x-powered\|^connection\|^keep-alive\|^transfer-encoding\|^content-length'; echo; }
mint() { curl -s "$A/mint?aud=${AUD:-$M}&${1:-}"; }
# 2025-11-25: initialize, then (the SDK's stateless legacy leg, no session id) tools/call.
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
legacy_call() { echo "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":{\"text\":\"hi\"}}}"; }
legacy() { # body [curl args...]: a 2025-11-25 POST to $URL (default $M)
    local b=$1; shift
    curl -si "${URL:-$M}" -H content-type:application/json -H "$ACCEPT" -H 'mcp-protocol-version: 2025-11-25' "$@" -d "$b" | show
}
# 2026-07-28: a stateless request with the _meta envelope and the headers that repeat it.
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
modern() { # method name|- [curl args...]: a 2026-07-28 POST to $URL (default $M)
    local method=$1 name=$2 params headers=(); shift 2
    if [ "$name" = - ]; then
        params="{$META}"
    else
        params="{\"name\":\"$name\",\"arguments\":{\"text\":\"hi\"},$META}"
        headers=(-H "mcp-name: $name")
    fi
    curl -si "${URL:-$M}" -H content-type:application/json -H "$ACCEPT" -H 'mcp-protocol-version: 2026-07-28' \
        -H "mcp-method: $method" "${headers[@]}" "$@" \
        -d "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"$method\",\"params\":$params}" | show
}

R=$(mint scope=mcp:read)
W=$(mint 'scope=mcp:read%20mcp:write')
J=$(mint 'scope=mcp:read%20mcp:write&typ=JWT')
echo "### 1 protected resource metadata"; curl -si "$B/.well-known/oauth-protected-resource/mcp" | show
echo "### 2 no token (2025-11-25 initialize)"; legacy "$INIT"
echo "### 3 no token (2026-07-28 server/discover)"; modern server/discover -
echo "### 4 no token, REQUIRED_SCOPES=mcp:read"; URL=$M2 legacy "$INIT"
echo "### 5 initialize with a read token"; legacy "$INIT" -H "authorization: Bearer $R"
echo "### 6 server/discover with a read token"; modern server/discover - -H "authorization: Bearer $R"
echo "### 7 echo, read token (2025-11-25)"; legacy "$(legacy_call echo)" -H "authorization: Bearer $R"
echo "### 8 write_note, read token (2025-11-25)"; legacy "$(legacy_call write_note)" -H "authorization: Bearer $R"
echo "### 9 write_note, read token (2026-07-28)"; modern tools/call write_note -H "authorization: Bearer $R"
echo "### 10 write_note, read+write token (2026-07-28)"; modern tools/call write_note -H "authorization: Bearer $W"
echo "### 11 typ JWT token: write_note (2025-11-25)"; legacy "$(legacy_call write_note)" -H "authorization: Bearer $J"
echo "### 12 typ JWT token: write_note (2026-07-28)"; modern tools/call write_note -H "authorization: Bearer $J"
echo "### 13 two Authorization headers, valid first, garbage second (2025-11-25)"
legacy "$(legacy_call echo)" -H "authorization: Bearer $R" -H "authorization: Bearer garbage"
echo "### 14 two Authorization headers, garbage first, valid second (2025-11-25)"
legacy "$(legacy_call echo)" -H "authorization: Bearer garbage" -H "authorization: Bearer $R"
echo "### 15 two Authorization headers, valid first, garbage second (2026-07-28)"
modern tools/call echo -H "authorization: Bearer $R" -H "authorization: Bearer garbage"
echo "### 16 Origin: http://evil.example"; legacy "$INIT" -H "authorization: Bearer $R" -H 'origin: http://evil.example'
echo "### 17 GET and DELETE /mcp with a token"
curl -si "$M" -H "$ACCEPT" -H "authorization: Bearer $R" | show
curl -si -X DELETE "$M" -H "authorization: Bearer $R" | show
