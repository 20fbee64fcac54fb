#!/usr/bin/env bash
# Probes server.mjs by hand with curl, printing each exchange under a numbered heading;
# README.md's observations were recorded from this output. Run after `npm ci`: `bash probe.sh`.
# Starts server.mjs (AUTO_APPROVE=1) on loopback port 0 and stops it on exit.
set -u
cd "$(dirname "$0")"

tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

PORT=0 AUTO_APPROVE=1 RESOURCES=http://127.0.0.1:9001/mcp node server.mjs >"$tmp/as.out" 2>"$tmp/as.err" &
pid=$!
for _ in $(seq 200); do grep -q '^issuer ' "$tmp/as.out" && break; sleep 0.1; done
I=$(sed -n 's/^issuer //p' "$tmp/as.out")
[ -n "$I" ] || { echo "server did not start: $(cat "$tmp/as.err")" >&2; exit 1; }
R=http://127.0.0.1:9001/mcp
CB=http://127.0.0.1:7777/callback
echo "issuer $I"

n=0
h() { n=$((n + 1)); printf '\n=== %d. %s\n' "$n" "$*"; }
show() { tr -d '\r' | grep -iv '^date:\|^connection:\|^keep-alive:\|^content-length:\|^vary:\|^x-content-type\|^x-frame\|^content-security' ; echo; }
json() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p'; }
reg() { curl -s "$I/reg" -H content-type:application/json -d "$1"; }
register() { # json: registers a client, prints its client_id
    reg "$1" | json client_id
}
VER=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")
CH=$(node -e "console.log(require('crypto').createHash('sha256').update('$VER').digest('base64url'))")
q() { node -e "console.log(new URLSearchParams(JSON.parse(process.argv[1])).toString())" "$1"; }
authz() { # query: follows /auth?query with a fresh cookie jar up to the first redirect off the AS; prints that URL or the last status and body
    local url="$I/auth?$1" jar="$tmp/jar.$RANDOM" loc
    for _ in $(seq 12); do
        loc=$(curl -s -b "$jar" -c "$jar" -o "$tmp/body" -w '%{http_code} %{redirect_url}' "$url")
        case "${loc#* }" in
            "$I"*) url=${loc#* } ;;
            "") echo "status ${loc%% *}, an HTML page saying: $(grep -o '<pre>.*</pre>' "$tmp/body" | sed 's/<[^>]*>//g' | tr '\n' ' ')"; return ;;
            *) echo "${loc%% *} -> ${loc#* }"; return ;;
        esac
    done
}
jwt() { # prints the header and payload of the JWT on stdin
    node -e "const t=require('fs').readFileSync(0,'utf8').trim().split('.'); for (const p of t.slice(0,2)) console.log(Buffer.from(p,'base64url').toString())"
}
code_of() { sed -n 's/.*[?&]code=\([^&]*\).*/\1/p'; }
token() { curl -si "$I/token" "$@" | show; }
pub='{"redirect_uris":["'$CB'"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"scope":"mcp:read mcp:write"}'
C=$(register "$pub")
echo "public client $C"
base() { echo "{\"response_type\":\"code\",\"client_id\":\"$C\",\"redirect_uri\":\"$CB\",\"scope\":\"mcp:read\",\"state\":\"s1\",\"resource\":\"$R\",\"code_challenge\":\"$CH\",\"code_challenge_method\":\"S256\"${1:-}}"; }
drop() { node -e "const o=JSON.parse(process.argv[1]); for (const k of process.argv.slice(2)) delete o[k]; console.log(JSON.stringify(o))" "$@"; }

h "metadata URLs"
for p in /.well-known/oauth-authorization-server /.well-known/openid-configuration /.well-known/oauth-authorization-server/mcp; do
    echo "$p: $(curl -s -o /dev/null -w '%{http_code}' "$I$p")"
done

h "a correct request (baseline): iss in the authorization response"
authz "$(q "$(base)")"

h "PKCE plain"
authz "$(q "$(base ',"code_challenge_method":"plain"')")"

h "no code_challenge"
authz "$(q "$(drop "$(base)" code_challenge code_challenge_method)")"

h "code_challenge without code_challenge_method (defaults to plain?)"
authz "$(q "$(drop "$(base)" code_challenge_method)")"

h "redirect_uri with a trailing slash"
authz "$(q "$(base ',"redirect_uri":"http://127.0.0.1:7777/callback/"')")"

h "redirect_uri on another loopback port"
authz "$(q "$(base ',"redirect_uri":"http://127.0.0.1:8888/callback"')")"

h "redirect_uri with another path"
authz "$(q "$(base ',"redirect_uri":"http://127.0.0.1:7777/other"')")"

h "redirect_uri on another host (unknown)"
authz "$(q "$(base ',"redirect_uri":"http://evil.example/callback"')")"

NATIVE=$(register '{"application_type":"native","redirect_uris":["'$CB'"],"token_endpoint_auth_method":"none","grant_types":["authorization_code"]}')
h "native client (application_type native) with redirect_uri on another loopback port"
authz "$(q "$(base ',"client_id":"'"$NATIVE"'","redirect_uri":"http://127.0.0.1:8888/callback"')")"

h "response_type=token"
authz "$(q "$(base ',"response_type":"token"')")"

h "unknown resource at the authorization endpoint"
authz "$(q "$(base ',"resource":"http://127.0.0.1:9999/other"')")"

h "no resource at the authorization endpoint nor at the token endpoint (one resource configured: defaultResource)"
CODE=$(authz "$(q "$(drop "$(base)" resource)")" | code_of)
curl -s "$I/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VER" -d "client_id=$C" | json access_token | jwt

h "token exchange (headers and body), code reuse"
CODE=$(authz "$(q "$(base)")" | code_of)
curl -si "$I/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VER" -d "client_id=$C" -d "resource=$R" | tr -d '\r' >"$tmp/first"
show <"$tmp/first"
AT1=$(tail -1 "$tmp/first" | json access_token)
RT1=$(tail -1 "$tmp/first" | json refresh_token)
echo "--- access token header and payload"
echo "$AT1" | jwt
echo "--- second redemption of the same code"
token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VER" -d "client_id=$C" -d "resource=$R"
echo "--- the refresh token from the first redemption, after the reuse"
token -d grant_type=refresh_token -d "refresh_token=$RT1" -d "client_id=$C"
echo "--- introspection of the first access token (a JWT), after the reuse"
curl -s "$I/token/introspection" -d "token=$AT1" -d "client_id=$C"; echo

h "code redeemed with another redirect_uri, and with a wrong code_verifier"
CODE=$(authz "$(q "$(base)")" | code_of)
token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=http://127.0.0.1:7777/callback/" -d "code_verifier=$VER" -d "client_id=$C"
CODE=$(authz "$(q "$(base)")" | code_of)
token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=${VER}x" -d "client_id=$C"

h "unknown resource at the token endpoint"
CODE=$(authz "$(q "$(base)")" | code_of)
token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VER" -d "client_id=$C" -d "resource=http://127.0.0.1:9999/other"

h "refresh: widened scope, then rotation and reuse"
CODE=$(authz "$(q "$(base)")" | code_of)
RT=$(curl -s "$I/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VER" -d "client_id=$C" -d "resource=$R" | json refresh_token)
echo "--- refresh asking scope mcp:read mcp:admin (granted: mcp:read)"
token -d grant_type=refresh_token -d "refresh_token=$RT" -d "client_id=$C" -d "scope=mcp:read mcp:admin" -d "resource=$R"
echo "--- refresh as granted"
curl -s "$I/token" -d grant_type=refresh_token -d "refresh_token=$RT" -d "client_id=$C" | tr -d '\r' >"$tmp/r2"
cat "$tmp/r2"; echo
RT2=$(json refresh_token <"$tmp/r2")
echo "--- the rotated-out refresh token again"
token -d grant_type=refresh_token -d "refresh_token=$RT" -d "client_id=$C"
echo "--- its successor, after that reuse"
token -d grant_type=refresh_token -d "refresh_token=$RT2" -d "client_id=$C"

h "password grant"
token -d grant_type=password -d username=alice -d password=alice -d "client_id=$C"

h "client_credentials lifetime"
CC=$(reg '{"grant_types":["client_credentials"],"response_types":[],"redirect_uris":[],"scope":"mcp:read"}')
CID=$(echo "$CC" | json client_id)
CSEC=$(echo "$CC" | json client_secret)
curl -s "$I/token" -u "$CID:$CSEC" -d grant_type=client_credentials -d scope=mcp:read -d "resource=$R"; echo

h "DCR: javascript: redirect_uri"
curl -si "$I/reg" -H content-type:application/json -d '{"redirect_uris":["javascript:alert(1)"],"token_endpoint_auth_method":"none"}' | show
h "DCR: http redirect_uri on a non-loopback host"
curl -si "$I/reg" -H content-type:application/json -d '{"redirect_uris":["http://evil.example/callback"],"token_endpoint_auth_method":"none"}' | show
h "DCR: http non-loopback redirect_uri for a native client"
curl -si "$I/reg" -H content-type:application/json -d '{"application_type":"native","redirect_uris":["http://evil.example/callback"],"token_endpoint_auth_method":"none"}' | show
h "DCR: a scope beyond policy"
curl -si "$I/reg" -H content-type:application/json -d '{"redirect_uris":["'$CB'"],"token_endpoint_auth_method":"none","scope":"mcp:read mcp:superuser"}' | show
h "DCR: response_types token, grant_types implicit and password"
curl -s "$I/reg" -H content-type:application/json -d '{"redirect_uris":["'$CB'"],"response_types":["token"],"grant_types":["implicit"]}'; echo
curl -s "$I/reg" -H content-type:application/json -d '{"redirect_uris":["'$CB'"],"grant_types":["password"]}'; echo
