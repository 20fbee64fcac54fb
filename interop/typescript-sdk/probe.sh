#!/usr/bin/env bash
# Probes server.mjs by hand with curl, printing each exchange (status, headers, body) under a
# numbered heading; README.md's observations were recorded from this output. Run after
# `npm ci`: `bash probe.sh`. Starts probe-as.mjs and server.mjs on loopback port 0 and stops
# both on exit. Takes about 40 s (it waits out jose's 30 s JWKS cooldown once).
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

node probe-as.mjs >"$tmp/as.out" & pids+=($!)
A=$(wait_line "$tmp/as.out" '^http')
start_server() { # name env...: starts server.mjs with ISSUER=$A on port 0
    env PORT=0 ISSUER="$A" "${@:2}" node server.mjs >"$tmp/$1.out" & pids+=($!)
}
url_of() { wait_line "$tmp/$1.out" '^listening on ' | sed 's/^listening on //'; }
start_server main
start_server scoped REQUIRED_SCOPES=mcp:read
start_server nojwks JWKS_URL=http://127.0.0.1:9/jwks
M=$(url_of main)
B=${M%/mcp}
M2=$(url_of scoped)
M3=$(url_of nojwks)

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
ACCEPT='accept: application/json, text/event-stream'
V='mcp-protocol-version: 2025-11-25'
show() { tr -d '\r' | grep -iv '^date\|^etag\|^x-powered\|^connection\|^keep-alive\|^transfer-encoding'; echo; }
post() { # token body [curl args...]: POSTs to $URL, default $M
    local t=$1 b=$2; shift 2
    curl -si "${URL:-$M}" -H content-type:application/json -H "$ACCEPT" ${t:+-H "authorization: Bearer $t"} "$@" -d "$b" | show
}
mint() { curl -s "$A/mint?aud=${AUD:-$M}&${1:-}"; }
session() { # token [url]: opens a session, prints its id
    curl -si "${2:-$M}" -H content-type:application/json -H "$ACCEPT" -H "authorization: Bearer $1" -d "$INIT" |
        tr -d '\r' | sed -n 's/^mcp-session-id: //Ip'
}
call() { echo "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":{\"text\":\"hi\"}}}"; }

R=$(mint scope=mcp:read)
W=$(mint scope=mcp:write)
echo "### 1 protected resource metadata"; curl -si "$B/.well-known/oauth-protected-resource/mcp" | show
echo "### 2 PRM at the root well-known URL"; curl -si "$B/.well-known/oauth-protected-resource" | show
echo "### 3 authorization server metadata served by the MCP server"; curl -si "$B/.well-known/oauth-authorization-server" | show
echo "### 4 PRM with POST"; curl -si -X POST "$B/.well-known/oauth-protected-resource/mcp" | show
echo "### 5 no token"; post "" "$INIT"
echo "### 6 Basic scheme"; post "" "$INIT" -H "authorization: Basic YTpi"
echo "### 7 lowercase 'bearer' scheme"; curl -si "$M" -H content-type:application/json -H "$ACCEPT" -H "authorization: bearer $R" -d "$INIT" | show | head -4
echo "### 8 two spaces after Bearer"; curl -si "$M" -H content-type:application/json -H "$ACCEPT" -H "authorization: Bearer  $R" -d "$INIT" | show
echo "### 9 wrong aud"; post "$(AUD=http://127.0.0.1:1/mcp mint)" "$INIT"
echo "### 10 wrong iss"; post "$(mint iss=http://127.0.0.1:1)" "$INIT"
echo "### 11 expired"; post "$(mint exp=-120)" "$INIT"
echo "### 12 no exp"; post "$(mint noexp=1)" "$INIT"
echo "### 13 typ JWT instead of at+jwt"; post "$(mint typ=JWT)" "$INIT" | head -4
echo "### 14 alg none"; post "$(mint alg=none)" "$INIT"
echo "### 15 HS256 keyed with the public key"; post "$(mint alg=HS256)" "$INIT"
echo "### 16 two audiences, this server's among them"; post "$(mint aud2=http://other.example/mcp)" "$INIT" | head -4
echo "### 17 not a JWT"; post "abc.def.ghi" "$INIT"
T=$(mint); sig=${T##*.}; c=$([ "${sig:10:1}" = A ] && echo B || echo A)
echo "### 18 bad signature (one signature character changed)"; post "${T%.*}.${sig:0:10}$c${sig:11}" "$INIT"
echo "### 19 unknown kid, 5 times"
echo "JWKS fetches before: $(curl -s "$A/fetches")"
for i in 1 2 3 4 5; do post "$(mint kid=unknown$i)" "$INIT" | grep -i '^HTTP\|^www-auth'; done
echo "JWKS fetches after: $(curl -s "$A/fetches")"
sleep 31
for i in 6 7 8; do post "$(mint kid=unknown$i)" "$INIT" | head -1; done
echo "JWKS fetches after 31 s and 3 more unknown kids: $(curl -s "$A/fetches")"; echo

S=$(session "$R")
echo "### 20 initialize + notifications/initialized (session $S)"
post "$R" '{"jsonrpc":"2.0","method":"notifications/initialized"}' -H "mcp-session-id: $S" -H "$V"
echo "### 21 write_note with an mcp:read token"; post "$R" "$(call 2 write_note)" -H "mcp-session-id: $S" -H "$V"
SW=$(session "$W")
echo "### 22 tools/list with an mcp:write token"; post "$W" '{"jsonrpc":"2.0","id":3,"method":"tools/list"}' -H "mcp-session-id: $SW" -H "$V" | grep -o '"name":"[a-z_]*"'; echo
echo "### 23 echo with an mcp:write token"; post "$W" "$(call 4 echo)" -H "mcp-session-id: $SW" -H "$V"
BOB=$(mint "sub=bob&scope=mcp:write")
echo "### 23b a session request without mcp-protocol-version"; post "$W" "$(call 4 write_note)" -H "mcp-session-id: $SW" | head -1; echo
echo "### 24 bob's token on alice's session"; post "$BOB" "$(call 5 write_note)" -H "mcp-session-id: $S" -H "$V"
echo "### 25 alice's session id without a token"; post "" "$(call 6 echo)" -H "mcp-session-id: $S" -H "$V"
echo "### 26 an expired token on alice's live session"; post "$(mint exp=-5)" "$(call 7 echo)" -H "mcp-session-id: $S" -H "$V" | head -1; echo
echo "### 27 foreign Origin"; post "$R" "$(call 8 echo)" -H "mcp-session-id: $S" -H "$V" -H 'origin: https://evil.example'
echo "### 28 foreign Host"; post "$R" "$(call 9 echo)" -H "mcp-session-id: $S" -H "$V" -H 'host: evil.example'
echo "### 29 token in the query string"; curl -si "$M?access_token=$R" -H content-type:application/json -H "$ACCEPT" -d "$INIT" | show
echo "### 30 token in a form body"; curl -si "$M" -H "$ACCEPT" --data-urlencode "access_token=$R" | show
echo "### 31 Accept: application/json only"; curl -si "$M" -H content-type:application/json -H 'accept: application/json' -H "authorization: Bearer $R" -d "$INIT" | show
echo "### 32 GET without a session id"; curl -si "$M" -H "authorization: Bearer $R" | show
echo "### 33 bob DELETEs alice's session"; curl -si -X DELETE "$M" -H "authorization: Bearer $BOB" -H "mcp-session-id: $S" -H "$V" | show
echo "### 34 alice's session afterwards"; post "$R" "$(call 10 echo)" -H "mcp-session-id: $S" -H "$V"
echo "### 35 REQUIRED_SCOPES=mcp:read: no token"; URL=$M2 post "" "$INIT"
echo "### 36 REQUIRED_SCOPES=mcp:read: an mcp:write token"; URL=$M2 post "$(AUD=$M2 mint scope=mcp:write)" "$INIT"
echo "### 37 JWKS unreachable"; URL=$M3 post "$(AUD=$M3 mint)" "$INIT"
