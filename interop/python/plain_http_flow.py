#!/usr/bin/env python3
"""Independent plain-HTTP interoperability check for an MCP server protected by OAuth 2.1.

Written against the specifications only (MCP 2025-11-25 authorization + Streamable HTTP
transport, RFC 9728, RFC 8414, RFC 7591, RFC 7636, RFC 8707, RFC 6749, RFC 6750,
RFC 9207, RFC 7662), using nothing but the Python 3.11 standard library.

Usage:
    python3 plain_http_flow.py --mcp-url http://127.0.0.1:PORT/mcp

Everything else (protected resource metadata, authorization server, endpoints) is
discovered.  The authorization server must approve authorization requests without user
interaction (e.g. `mcp-authz serve --auto-approve`).

Output: one line per check, `ok   <name>` or `FAIL <name>: <received vs expected>`,
optional `note <text>` lines for informational observations, and a final line
`N passed, M failed`.  Exit status 0 only when every check passed.
"""

import argparse
import base64
import hashlib
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 10  # seconds, per request
VERBOSE = False  # --verbose: trace every exchange on stderr
REDIRECT_URI = "http://127.0.0.1:8765/callback"
PROTOCOL_VERSION = "2025-11-25"
DEFAULT_SCOPE = "mcp:read mcp:write"
MCP_ACCEPT = "application/json, text/event-stream"


# --------------------------------------------------------------------------- reporting


class StepFailed(Exception):
    """Raised inside a check to report FAIL with a message."""


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        print(f"ok   {name}", flush=True)

    def fail(self, name, msg):
        self.failed += 1
        print(f"FAIL {name}: {msg}", flush=True)

    def note(self, text):
        print(f"note {text}", flush=True)

    def run(self, name, fn, *args):
        """Run one check; fn returns normally (pass) or raises StepFailed (fail).

        Any other exception is reported as a failure too, never as a traceback.
        Returns fn's return value, or None when it failed.
        """
        try:
            value = fn(*args)
        except StepFailed as exc:
            self.fail(name, str(exc))
            return None
        except Exception as exc:  # robustness: an unexpected answer must not crash us
            self.fail(name, f"unexpected {type(exc).__name__}: {exc}")
            return None
        self.ok(name)
        return value


def require(cond, msg):
    if not cond:
        raise StepFailed(msg)


# --------------------------------------------------------------------------- HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # surface 3xx responses to the caller instead of following them


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class Resp:
    """A received HTTP response (or a transport error, then status is None)."""

    def __init__(self, status=None, headers=None, body=b"", error=None, sse_messages=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.error = error
        self.sse_messages = sse_messages  # JSON-RPC messages parsed from an SSE body

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    def header_all(self, name):
        if self.headers is None:
            return []
        return self.headers.get_all(name) or []

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:
            return None

    def describe(self):
        if self.status is None:
            return f"no HTTP response ({self.error})"
        text = self.body.decode("utf-8", "replace")
        if len(text) > 300:
            text = text[:300] + "..."
        parts = [f"HTTP {self.status}"]
        for h in ("Location", "WWW-Authenticate", "Content-Type"):
            for v in self.header_all(h):
                parts.append(f"{h}: {v}")
        parts.append(f"body {text!r}")
        return "; ".join(parts)


def _read_sse(fp, want_id):
    """Read a text/event-stream until the JSON-RPC response with id want_id arrives.

    Returns (raw bytes read, list of JSON-RPC messages seen)."""
    raw = []
    messages = []
    data_lines = []
    while True:
        line = fp.readline()
        if not line:
            break
        raw.append(line)
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if text == "":
            if data_lines:
                try:
                    msg = json.loads("\n".join(data_lines))
                except ValueError:
                    msg = None
                data_lines = []
                if msg is not None:
                    messages.append(msg)
                    if isinstance(msg, dict) and msg.get("id") == want_id and (
                        "result" in msg or "error" in msg
                    ):
                        break
            continue
        if text.startswith(":"):
            continue
        field, _, value = text.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data_lines.append(value)
    if data_lines:  # stream ended without the final blank line
        try:
            messages.append(json.loads("\n".join(data_lines)))
        except ValueError:
            pass
    return b"".join(raw), messages


def http(method, url, headers=None, body=None, rpc_id=None):
    """Perform one request without following redirects. Never raises."""
    resp = _http(method, url, headers, body, rpc_id)
    if VERBOSE:
        shown = body if not isinstance(body, (bytes, str)) or len(body) < 400 else f"<{len(body)} bytes>"
        print(f"  > {method} {url} {headers or {}} {shown!r}", file=sys.stderr)
        print(f"  < {resp.describe()}", file=sys.stderr, flush=True)
    return resp


def _http(method, url, headers, body, rpc_id):
    if isinstance(body, str):
        body = body.encode("utf-8")
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        fp = _OPENER.open(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        try:
            data = exc.read()
        except Exception:
            data = b""
        return Resp(exc.code, exc.headers, data)
    except Exception as exc:
        return Resp(error=f"{type(exc).__name__}: {exc}")
    try:
        with fp:
            ctype = (fp.headers.get("Content-Type") or "").lower()
            if rpc_id is not None and ctype.startswith("text/event-stream"):
                data, msgs = _read_sse(fp, rpc_id)
                return Resp(fp.status, fp.headers, data, sse_messages=msgs)
            return Resp(fp.status, fp.headers, fp.read())
    except Exception as exc:
        return Resp(error=f"reading body: {type(exc).__name__}: {exc}")


def get(url, headers=None):
    return http("GET", url, headers={"Accept": "application/json", **(headers or {})})


def post_form(url, pairs):
    """POST application/x-www-form-urlencoded; pairs is a list of (name, value)."""
    body = urllib.parse.urlencode(pairs)
    return http(
        "POST",
        url,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        body=body,
    )


def post_json(url, obj, headers=None):
    return http(
        "POST",
        url,
        headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
        body=json.dumps(obj),
    )


# --------------------------------------------------------------------------- WWW-Authenticate

_TCHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68_EXTRA = set("-._~+/")


def parse_challenges(values):
    """Parse WWW-Authenticate header values (RFC 9110 section 11.6.1 / RFC 7235).

    Returns a list of (scheme lower-cased, {param lower-cased: value}, token68 or None).
    Quoted-string values are unescaped (backslash quoting).  Raises ValueError on
    malformed input."""
    out = []
    for value in values:
        out.extend(_parse_challenge_list(value))
    return out


def _parse_challenge_list(s):
    i, n = 0, len(s)
    result = []

    def skip_ws(i):
        while i < n and s[i] in " \t":
            i += 1
        return i

    def read_token(i):
        j = i
        while j < n and s[j] in _TCHARS:
            j += 1
        return s[i:j], j

    def read_quoted(i):
        assert s[i] == '"'
        i += 1
        buf = []
        while i < n:
            c = s[i]
            if c == "\\":
                if i + 1 >= n:
                    raise ValueError("dangling backslash in quoted-string")
                buf.append(s[i + 1])
                i += 2
                continue
            if c == '"':
                return "".join(buf), i + 1
            buf.append(c)
            i += 1
        raise ValueError("unterminated quoted-string")

    while True:
        # skip empty list elements
        while i < n and s[i] in " \t,":
            i += 1
        if i >= n:
            break
        scheme, i = read_token(i)
        if not scheme:
            raise ValueError(f"expected auth-scheme at offset {i} in {s!r}")
        params, token68 = {}, None
        if i < n and s[i] not in " \t,":
            raise ValueError(f"unexpected {s[i]!r} after scheme at offset {i}")
        i = skip_ws(i)
        # token68 (e.g. `Negotiate abc==`) rather than auth-params?
        if not _looks_like_param(s, i):
            j = i
            while j < n and (s[j] in _TCHARS or s[j] in _TOKEN68_EXTRA):
                j += 1
            while j < n and s[j] == "=":
                j += 1
            k = skip_ws(j)
            if j > i and (k >= n or s[k] == ","):
                token68 = s[i:j]
                i = k
                result.append((scheme.lower(), params, token68))
                continue
        # auth-params
        while i < n and s[i] != ",":
            name, i = read_token(i)
            if not name:
                raise ValueError(f"expected auth-param name at offset {i} in {s!r}")
            i = skip_ws(i)
            if i >= n or s[i] != "=":
                raise ValueError(f"expected '=' after {name!r} in {s!r}")
            i = skip_ws(i + 1)
            if i < n and s[i] == '"':
                val, i = read_quoted(i)
            else:
                val, i = read_token(i)
            if name.lower() in params:
                raise ValueError(f"auth-param {name!r} repeated")
            params[name.lower()] = val
            i = skip_ws(i)
            if i < n and s[i] == ",":
                # next element: another param of this challenge, or a new challenge?
                j = i + 1
                while j < n and s[j] in " \t,":
                    j += 1
                if _looks_like_param(s, j):
                    i = j
                    continue
                break
            if i < n:
                raise ValueError(f"unexpected {s[i]!r} at offset {i} in {s!r}")
        result.append((scheme.lower(), params, token68))
    return result


def _looks_like_param(s, i):
    """True when s[i:] starts with `token BWS "=" ` followed by something other than '='."""
    n = len(s)
    j = i
    while j < n and s[j] in _TCHARS:
        j += 1
    if j == i:
        return False
    while j < n and s[j] in " \t":
        j += 1
    if j >= n or s[j] != "=":
        return False
    j += 1
    while j < n and s[j] in " \t":
        j += 1
    return j < n and s[j] not in "=,"


def bearer_challenge(resp):
    """The params of the Bearer challenge in resp, or raise StepFailed."""
    values = resp.header_all("WWW-Authenticate")
    require(values, f"no WWW-Authenticate header; got {resp.describe()}")
    try:
        challenges = parse_challenges(values)
    except ValueError as exc:
        raise StepFailed(f"malformed WWW-Authenticate {values!r}: {exc}")
    for scheme, params, _ in challenges:
        if scheme == "bearer":
            return params
    raise StepFailed(f"no Bearer challenge in WWW-Authenticate {values!r}")


# --------------------------------------------------------------------------- OAuth helpers


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_pkce():
    verifier = b64url(secrets.token_bytes(48))  # 64 chars, within 43..128
    challenge = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge


def with_query(url, pairs):
    parts = urllib.parse.urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urllib.parse.urlencode(pairs)
    return urllib.parse.urlunsplit(parts._replace(query=query))


def oauth_error(resp):
    body = resp.json()
    if isinstance(body, dict):
        return body.get("error")
    return None


def expect_token_error(resp, status, error):
    require(
        resp.status == status and oauth_error(resp) == error,
        f"expected HTTP {status} with error={error!r}; got {resp.describe()}",
    )
    ctype = (resp.header("Content-Type") or "").lower()
    require(ctype.startswith("application/json"), f"error body must be application/json; got Content-Type {ctype!r}")


def split_redirect(location):
    """(base without query/fragment, query params dict-of-lists, fragment params dict-of-lists)."""
    parts = urllib.parse.urlsplit(location)
    base = urllib.parse.urlunsplit(parts._replace(query="", fragment=""))
    return (
        base,
        urllib.parse.parse_qs(parts.query, keep_blank_values=True),
        urllib.parse.parse_qs(parts.fragment, keep_blank_values=True),
    )


def single(params, name):
    values = params.get(name)
    if not values:
        return None
    return values[0]


class Ctx:
    """Everything discovered or obtained so far."""

    def __init__(self, mcp_url, note):
        self.mcp_url = mcp_url
        self.note = note  # callable printing an informational line
        self.resource_metadata_url = None
        self.challenge_scope = None
        self.prm = None
        self.issuer = None
        self.asm = None
        self.client_id = None
        self.scope = DEFAULT_SCOPE
        self.tokens = None  # token response of the main flow
        self.session_id = None
        self.protocol_version = PROTOCOL_VERSION
        self.refreshed = None  # token response of the first refresh
        self.old_refresh_token = None
        self.tools = {}
        self.step_up = None  # session, challenged scope and arguments from check o
        self.rpc_id = 0

    # --- authorization endpoint

    def auth_params(self, **overrides):
        """Default authorization request parameters with overrides (None removes a param)."""
        verifier, challenge = new_pkce()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": b64url(secrets.token_bytes(16)),
            "resource": self.mcp_url,
            "scope": self.scope,
        }
        for k, v in overrides.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return params, verifier

    def authorize(self, params):
        url = with_query(self.asm["authorization_endpoint"], list(params.items()))
        return http("GET", url, headers={"Accept": "text/html, application/json"})

    def get_code(self, scope=None):
        """Run an authorization request that must succeed; returns (code, verifier)."""
        params, verifier = self.auth_params(scope=scope or self.scope)
        resp = self.authorize(params)
        code = self.check_code_redirect(resp, params)
        return code, verifier

    def check_code_redirect(self, resp, params):
        require(resp.status in (302, 303), f"expected 302/303 redirect; got {resp.describe()}")
        location = resp.header("Location") or ""
        base, query, _ = split_redirect(location)
        require(base == params["redirect_uri"], f"Location {location!r} does not target redirect_uri {params['redirect_uri']!r}")
        require(single(query, "error") is None, f"authorization error in Location {location!r}")
        code = single(query, "code")
        require(code, f"no code in Location {location!r}")
        require(single(query, "state") == params["state"], f"state {single(query, 'state')!r} != sent {params['state']!r}")
        require(single(query, "iss") == self.issuer, f"iss {single(query, 'iss')!r} != issuer {self.issuer!r} (RFC 9207)")
        return code

    def check_error_redirect(self, resp, params, expected_error, allow_page):
        """The authorization request must be refused; never a code or token.

        expected_error: the required `error` value in a redirect (None = any).
        allow_page: whether a 4xx error page (no redirect) is also acceptable."""
        if resp.status in (301, 302, 303, 307, 308):
            location = resp.header("Location") or ""
            base, query, frag = split_redirect(location)
            for p in (query, frag):
                require(single(p, "code") is None, f"a code was issued: Location {location!r}")
                require(single(p, "access_token") is None, f"a token was issued: Location {location!r}")
            require(base == params.get("redirect_uri", REDIRECT_URI), f"error redirect goes to {location!r}, not the registered redirect_uri")
            error = single(query, "error") or single(frag, "error")
            require(error is not None, f"redirect carries no error: Location {location!r}")
            if expected_error is not None:
                require(error == expected_error, f"error={error!r}, expected {expected_error!r} (Location {location!r})")
            p = query if single(query, "error") else frag
            if "state" in params:
                require(single(p, "state") == params["state"], f"state not echoed in error response (RFC 6749 4.1.2.1): Location {location!r}")
            if self.asm.get("authorization_response_iss_parameter_supported"):
                require(single(p, "iss") == self.issuer, f"iss {single(p, 'iss')!r} != issuer {self.issuer!r} in error response (RFC 9207 section 2)")
            return f"redirect error={error}"
        if allow_page and resp.status is not None and 400 <= resp.status < 500:
            return f"error page {resp.status}"
        want = f"redirect with error={expected_error}" if expected_error else "error redirect"
        if allow_page:
            want += " or a 4xx error page"
        raise StepFailed(f"expected {want}; got {resp.describe()}")

    def check_error_page(self, resp):
        """Must answer with a 4xx page and must NOT redirect anywhere."""
        require(
            resp.status is not None and 400 <= resp.status < 500,
            f"expected a 4xx error page (no redirect); got {resp.describe()}",
        )
        require(resp.header("Location") is None, f"error page must not carry Location; got {resp.describe()}")

    # --- token endpoint

    def token(self, pairs):
        return post_form(self.asm["token_endpoint"], pairs)

    def redeem(self, code, verifier):
        return self.token(
            [
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
                ("client_id", self.client_id),
                ("resource", self.mcp_url),
            ]
        )

    def refresh(self, refresh_token, scope=None):
        pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.client_id),
            ("resource", self.mcp_url),
        ]
        if scope is not None:
            pairs.append(("scope", scope))
        return self.token(pairs)

    def get_tokens(self, scope=None):
        code, verifier = self.get_code(scope)
        resp = self.redeem(code, verifier)
        return check_token_response(resp)

    # --- MCP

    def next_id(self):
        self.rpc_id += 1
        return self.rpc_id

    def mcp(self, method, params=None, token=None, session=None, notification=False,
            extra_headers=None, url=None, with_version=True):
        """POST one JSON-RPC message; returns (Resp, JSON-RPC response or None)."""
        msg = {"jsonrpc": "2.0", "method": method}
        rpc_id = None
        if not notification:
            rpc_id = self.next_id()
            msg["id"] = rpc_id
        if params is not None:
            msg["params"] = params
        headers = {"Content-Type": "application/json", "Accept": MCP_ACCEPT}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if session is not None:
            headers["Mcp-Session-Id"] = session
        if with_version and method != "initialize":
            headers["MCP-Protocol-Version"] = self.protocol_version
        headers.update(extra_headers or {})
        resp = http("POST", url or self.mcp_url, headers=headers, body=json.dumps(msg), rpc_id=rpc_id)
        return resp, rpc_result(resp, rpc_id)

    def initialize_params(self):
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "plain-http-interop", "version": "0.1.0"},
        }

    def open_session(self, token):
        """initialize + notifications/initialized; returns the session id."""
        resp, rpc = self.mcp("initialize", self.initialize_params(), token=token)
        require(resp.status == 200, f"initialize: expected 200; got {resp.describe()}")
        require(isinstance(rpc, dict) and isinstance(rpc.get("result"), dict),
                f"initialize: no JSON-RPC result; got {resp.describe()}")
        session = resp.header("Mcp-Session-Id")
        require(session, f"initialize: no Mcp-Session-Id header; got {resp.describe()}")
        resp, _ = self.mcp("notifications/initialized", token=token, session=session, notification=True)
        require(resp.status == 202, f"notifications/initialized: expected 202; got {resp.describe()}")
        return session


def rpc_result(resp, rpc_id):
    """The JSON-RPC response object for rpc_id from a JSON or SSE body, else None."""
    if rpc_id is None or resp.status is None:
        return None
    if resp.sse_messages is not None:
        for m in resp.sse_messages:
            if isinstance(m, dict) and m.get("id") == rpc_id:
                return m
        return None
    body = resp.json()
    if isinstance(body, list):  # tolerate a batch-shaped answer
        for m in body:
            if isinstance(m, dict) and m.get("id") == rpc_id:
                return m
        return None
    return body if isinstance(body, dict) else None


def check_token_response(resp):
    """RFC 6749 5.1 successful token response; returns the parsed JSON."""
    require(resp.status == 200, f"expected 200; got {resp.describe()}")
    cache = (resp.header("Cache-Control") or "").lower()
    require("no-store" in [d.strip() for d in cache.split(",")],
            f"Cache-Control must be no-store (RFC 6749 5.1); got {resp.header('Cache-Control')!r}")
    ctype = (resp.header("Content-Type") or "").lower()
    require(ctype.startswith("application/json"), f"Content-Type {ctype!r}, expected application/json (RFC 6749 5.1)")
    body = resp.json()
    require(isinstance(body, dict), f"token response is not a JSON object; got {resp.describe()}")
    require(isinstance(body.get("access_token"), str) and body["access_token"],
            f"no access_token; got {resp.describe()}")
    require(isinstance(body.get("token_type"), str) and body["token_type"].lower() == "bearer",
            f"token_type {body.get('token_type')!r}, expected Bearer")
    require(isinstance(body.get("refresh_token"), str) and body["refresh_token"],
            f"no refresh_token; got {resp.describe()}")
    exp = body.get("expires_in")
    require(isinstance(exp, int) and not isinstance(exp, bool) and exp > 0,
            f"expires_in {exp!r}, expected a positive integer")
    return body


def tool_text(rpc):
    """Concatenated text content of a tools/call result."""
    result = rpc.get("result") if isinstance(rpc, dict) else None
    if not isinstance(result, dict):
        return None
    texts = []
    for item in result.get("content") or []:
        if isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
    return "\n".join(texts)


def sample_arguments(tool, fallback):
    """Arguments satisfying a tool's inputSchema `required` string/number properties."""
    schema = tool.get("inputSchema") if isinstance(tool, dict) else None
    if not isinstance(schema, dict):
        return fallback
    props = schema.get("properties") or {}
    args = {}
    for name in schema.get("required") or []:
        kind = (props.get(name) or {}).get("type")
        if kind in ("integer", "number"):
            args[name] = 1
        elif kind == "boolean":
            args[name] = True
        else:
            args[name] = "interop note"
    return args or fallback


# --------------------------------------------------------------------------- the flow


def step1_challenge(ctx):
    resp, _ = ctx.mcp("initialize", ctx.initialize_params())
    require(resp.status == 401, f"expected 401; got {resp.describe()}")
    params = bearer_challenge(resp)
    rm = params.get("resource_metadata")
    require(rm, f"Bearer challenge has no resource_metadata; got {resp.header_all('WWW-Authenticate')!r}")
    ctx.resource_metadata_url = rm
    ctx.challenge_scope = params.get("scope")


def prm_well_known_urls(mcp_url):
    """RFC 9728 3.1 / MCP fallback order: path insertion, then the root."""
    parts = urllib.parse.urlsplit(mcp_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    urls = [f"{origin}/.well-known/oauth-protected-resource{path}"] if path else []
    return urls + [f"{origin}/.well-known/oauth-protected-resource"]


def step2_prm(ctx):
    if ctx.resource_metadata_url:
        resp = get(ctx.resource_metadata_url)
    else:
        # Step 1 already failed; keep going with the MCP fallback so later checks still run.
        for url in prm_well_known_urls(ctx.mcp_url):
            resp = get(url)
            if resp.status == 200:
                ctx.note(f"no resource_metadata in the challenge; using well-known {url}")
                break
    require(resp.status == 200, f"expected 200; got {resp.describe()}")
    prm = resp.json()
    require(isinstance(prm, dict), f"PRM is not a JSON object; got {resp.describe()}")
    require(prm.get("resource") == ctx.mcp_url,
            f"resource {prm.get('resource')!r} != MCP URL {ctx.mcp_url!r} (RFC 9728 3.3)")
    servers = prm.get("authorization_servers")
    require(isinstance(servers, list) and servers and isinstance(servers[0], str),
            f"authorization_servers missing/empty: {servers!r}")
    ctx.prm = prm
    ctx.issuer = servers[0]
    # Scope selection (MCP authorization, Scope Selection Strategy): challenge first, then PRM.
    if ctx.challenge_scope:
        ctx.scope = ctx.challenge_scope
    elif isinstance(prm.get("scopes_supported"), list) and prm["scopes_supported"]:
        ctx.scope = " ".join(prm["scopes_supported"])


def as_metadata_urls(issuer):
    """RFC 8414 3.1 path insertion, then the OpenID Connect variants (MCP discovery order)."""
    parts = urllib.parse.urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if path:
        return [
            f"{origin}/.well-known/oauth-authorization-server{path}",
            f"{origin}/.well-known/openid-configuration{path}",
            f"{origin}{path}/.well-known/openid-configuration",
        ]
    return [f"{origin}/.well-known/oauth-authorization-server", f"{origin}/.well-known/openid-configuration"]


def step3_asm(ctx):
    tried = []
    for url in as_metadata_urls(ctx.issuer):
        resp = get(url)
        if resp.status == 200:
            break
        tried.append(f"{url} -> {resp.describe()}")
    else:
        raise StepFailed("no authorization server metadata: " + " | ".join(tried))
    asm = resp.json()
    require(isinstance(asm, dict), f"metadata is not a JSON object; got {resp.describe()}")
    require(asm.get("issuer") == ctx.issuer, f"issuer {asm.get('issuer')!r} != {ctx.issuer!r} (RFC 8414 3.3)")
    methods = asm.get("code_challenge_methods_supported")
    require(isinstance(methods, list) and "S256" in methods,
            f"code_challenge_methods_supported {methods!r} lacks S256")
    for field in ("authorization_endpoint", "token_endpoint", "registration_endpoint"):
        require(isinstance(asm.get(field), str) and asm[field], f"{field} missing: {asm.get(field)!r}")
    rtypes = asm.get("response_types_supported")
    require(isinstance(rtypes, list) and "code" in rtypes,
            f"response_types_supported {rtypes!r} (REQUIRED by RFC 8414 2) lacks code")
    ctx.asm = asm


def register(ctx, redirect_uris):
    return post_json(
        ctx.asm["registration_endpoint"],
        {
            "redirect_uris": redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "client_name": "plain-http interop (python)",
        },
    )


def step4_register(ctx):
    resp = register(ctx, [REDIRECT_URI])
    require(resp.status == 201, f"expected 201; got {resp.describe()}")
    body = resp.json()
    require(isinstance(body, dict) and isinstance(body.get("client_id"), str) and body["client_id"],
            f"no client_id; got {resp.describe()}")
    ctx.client_id = body["client_id"]


def step5_6_code_and_token(ctx):
    ctx.tokens = ctx.get_tokens()
    granted = ctx.tokens.get("scope")
    if granted is not None and set(granted.split()) != set(ctx.scope.split()):
        ctx.note(f"granted scope {granted!r} differs from requested {ctx.scope!r}")


def step7_session(ctx):
    ctx.session_id = None
    token = ctx.tokens["access_token"]
    resp, rpc = ctx.mcp("initialize", ctx.initialize_params(), token=token)
    require(resp.status == 200, f"initialize: expected 200; got {resp.describe()}")
    require(isinstance(rpc, dict) and isinstance(rpc.get("result"), dict),
            f"initialize: no JSON-RPC result; got {resp.describe()}")
    version = rpc["result"].get("protocolVersion")
    require(isinstance(version, str) and version, f"initialize result lacks protocolVersion: {rpc!r}")
    ctx.protocol_version = version
    session = resp.header("Mcp-Session-Id")
    require(session, f"initialize: no Mcp-Session-Id header; got {resp.describe()}")
    ctx.session_id = session


def step7_initialized(ctx):
    resp, _ = ctx.mcp("notifications/initialized", token=ctx.tokens["access_token"],
                      session=ctx.session_id, notification=True)
    require(resp.status == 202, f"expected 202 Accepted; got {resp.describe()}")


def step7_tools_list(ctx):
    resp, rpc = ctx.mcp("tools/list", {}, token=ctx.tokens["access_token"], session=ctx.session_id)
    require(resp.status == 200, f"expected 200; got {resp.describe()}")
    result = rpc.get("result") if isinstance(rpc, dict) else None
    tools = result.get("tools") if isinstance(result, dict) else None
    require(isinstance(tools, list), f"no result.tools; got {resp.describe()}")
    ctx.tools = {t.get("name"): t for t in tools if isinstance(t, dict)}
    require("echo" in ctx.tools, f"echo not listed; tools = {sorted(map(str, ctx.tools))}")


def call_echo(ctx, token, session):
    resp, rpc = ctx.mcp("tools/call", {"name": "echo", "arguments": {"text": "hello"}},
                        token=token, session=session)
    require(resp.status == 200, f"expected 200; got {resp.describe()}")
    text = tool_text(rpc)
    require(text is not None and "hello" in text, f"echo result lacks 'hello'; got {resp.describe()}")
    require(not rpc["result"].get("isError"), f"echo result isError; got {resp.describe()}")


def step8_refresh(ctx):
    old = ctx.tokens
    resp = ctx.refresh(old["refresh_token"])
    new = check_token_response(resp)
    require(new["access_token"] != old["access_token"], "refresh returned the same access token")
    require(new["refresh_token"] != old["refresh_token"],
            "refresh token not rotated (OAuth 2.1 4.3.1 / MCP: MUST rotate for public clients)")
    ctx.old_refresh_token = old["refresh_token"]
    ctx.refreshed = new


# --------------------------------------------------------------------------- rejections


def rej_a_no_challenge(ctx):
    params, _ = ctx.auth_params(code_challenge=None, code_challenge_method=None)
    ctx.check_error_redirect(ctx.authorize(params), params, "invalid_request", allow_page=True)


def rej_b_plain(ctx):
    # A well-formed 43-character plain challenge, so that only the method is wrong.
    # RFC 7636 4.4.1: an unsupported transformation MUST give error=invalid_request.
    params, _ = ctx.auth_params(code_challenge_method="plain", code_challenge=b64url(secrets.token_bytes(32)))
    ctx.check_error_redirect(ctx.authorize(params), params, "invalid_request", allow_page=True)


def rej_c_bad_redirect(ctx):
    params, _ = ctx.auth_params(redirect_uri=REDIRECT_URI + "/extra")
    ctx.check_error_page(ctx.authorize(params))


def rej_d_unknown_client(ctx):
    params, _ = ctx.auth_params(client_id="unknown-" + secrets.token_hex(8))
    ctx.check_error_page(ctx.authorize(params))


def rej_e_response_type_token(ctx):
    params, _ = ctx.auth_params(response_type="token")
    ctx.check_error_redirect(ctx.authorize(params), params, "unsupported_response_type", allow_page=False)


def rej_l_foreign_resource(ctx):
    params, _ = ctx.auth_params(resource="https://evil.example/mcp")
    ctx.check_error_redirect(ctx.authorize(params), params, "invalid_target", allow_page=False)


def rej_f_wrong_verifier(ctx):
    code, verifier = ctx.get_code()
    wrong, _ = new_pkce()
    expect_token_error(ctx.redeem(code, wrong), 400, "invalid_grant")


def rej_g_code_replay(ctx):
    code, verifier = ctx.get_code()
    first = check_token_response(ctx.redeem(code, verifier))
    second = ctx.redeem(code, verifier)
    expect_token_error(second, 400, "invalid_grant")
    # Optional (RFC 6749 4.1.2 SHOULD revoke tokens issued from a replayed code): report only.
    resp, _ = ctx.mcp("initialize", ctx.initialize_params(), token=first["access_token"])
    if resp.status == 200:
        ctx.note("g: after the code replay the first access token is still accepted by the MCP server (RFC 6749 4.1.2 SHOULD revoke)")
    elif resp.status == 401:
        ctx.note("g: after the code replay the first access token is refused (401): tokens from the code were revoked")
    else:
        ctx.note(f"g: after the code replay the first access token got {resp.describe()}")
    endpoint = ctx.asm.get("introspection_endpoint")
    if endpoint:
        r = post_form(endpoint, [("token", first["access_token"]), ("client_id", ctx.client_id)])
        body = r.json()
        if r.status == 200 and isinstance(body, dict) and "active" in body:
            ctx.note(f"g: introspection (as public client) says active={body['active']!r}")
        else:
            ctx.note(f"g: introspection not usable by a public client: HTTP {r.status}")


def rej_h_repeated_param(ctx):
    code, verifier = ctx.get_code()
    resp = ctx.token(
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
            ("client_id", ctx.client_id),
            ("resource", ctx.mcp_url),
        ]
    )
    expect_token_error(resp, 400, "invalid_request")


def rej_i_password(ctx):
    resp = ctx.token(
        [
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "secret"),
            ("client_id", ctx.client_id),
            ("resource", ctx.mcp_url),
        ]
    )
    expect_token_error(resp, 400, "unsupported_grant_type")


def rej_j_refresh_reuse(ctx):
    expect_token_error(ctx.refresh(ctx.old_refresh_token), 400, "invalid_grant")


def rej_j_family_revoked(ctx):
    resp = ctx.refresh(ctx.refreshed["refresh_token"])
    require(resp.status != 200, f"newest refresh token of a replayed family still works; got {resp.describe()}")
    expect_token_error(resp, 400, "invalid_grant")


def rej_k_wider_scope(ctx):
    # A family of its own granted only mcp:read, so that "wider" means a real, known scope
    # whatever the main flow was granted, and the main family stays untouched for j.
    tokens = ctx.get_tokens(scope="mcp:read")
    granted = (tokens.get("scope") or "mcp:read").split()
    require("mcp:admin" not in granted, f"asked for 'mcp:read' but was granted {granted!r}")
    expect_token_error(ctx.refresh(tokens["refresh_token"], " ".join(granted + ["mcp:admin"])),
                       400, "invalid_scope")


def rej_m_garbage_token(ctx):
    resp, _ = ctx.mcp("tools/call", {"name": "echo", "arguments": {"text": "hello"}},
                      token="garbage." + secrets.token_hex(16), session=ctx.session_id)
    require(resp.status == 401, f"expected 401; got {resp.describe()}")
    params = bearer_challenge(resp)
    require(params.get("error") == "invalid_token",
            f"error={params.get('error')!r}, expected 'invalid_token'; WWW-Authenticate {resp.header_all('WWW-Authenticate')!r}")


def rej_m_session_without_token(ctx):
    resp, _ = ctx.mcp("tools/call", {"name": "echo", "arguments": {"text": "hello"}},
                      session=ctx.session_id)
    require(resp.status == 401, f"expected 401; got {resp.describe()}")
    bearer_challenge(resp)


def rej_n_query_token(ctx):
    url = with_query(ctx.mcp_url, [("access_token", ctx.refreshed["access_token"])])
    resp, rpc = ctx.mcp("tools/call", {"name": "echo", "arguments": {"text": "hello"}},
                        session=ctx.session_id, url=url)
    require(resp.status is not None and 400 <= resp.status < 500,
            f"expected a 4xx refusal of a query-string token; got {resp.describe()}")


def rej_o_insufficient_scope(ctx):
    read_scope = "mcp:read"
    tokens = ctx.get_tokens(scope=read_scope)
    granted = tokens.get("scope")
    if granted is not None:
        require("mcp:write" not in granted.split(), f"asked for {read_scope!r} but was granted {granted!r}")
    session = ctx.open_session(tokens["access_token"])
    args = sample_arguments(ctx.tools.get("write_note"), {"text": "interop note"})
    resp, _ = ctx.mcp("tools/call", {"name": "write_note", "arguments": args},
                      token=tokens["access_token"], session=session)
    require(resp.status == 403, f"expected 403; got {resp.describe()}")
    params = bearer_challenge(resp)
    require(params.get("error") == "insufficient_scope",
            f"error={params.get('error')!r}, expected 'insufficient_scope'")
    require("mcp:write" in (params.get("scope") or "").split(),
            f"scope={params.get('scope')!r} does not name mcp:write")
    ctx.step_up = {"session": session, "scope": params["scope"], "arguments": args}


def step_up_same_session(ctx):
    # MCP authorization, Step-Up Authorization Flow: re-authorize with the challenged
    # scopes, then retry the original request.  Authorization travels with every request
    # (the session is not the credential), so the retry on the same session must succeed.
    # Also the positive control for o: write_note does work with mcp:write.
    tokens = ctx.get_tokens(scope=ctx.step_up["scope"])
    resp, rpc = ctx.mcp("tools/call", {"name": "write_note", "arguments": ctx.step_up["arguments"]},
                        token=tokens["access_token"], session=ctx.step_up["session"])
    require(resp.status == 200, f"expected 200; got {resp.describe()}")
    result = rpc.get("result") if isinstance(rpc, dict) else None
    require(isinstance(result, dict) and not result.get("isError"),
            f"expected a successful tools/call result; got {resp.describe()}")


def rej_p_origin(ctx):
    resp, _ = ctx.mcp("tools/call", {"name": "echo", "arguments": {"text": "hello"}},
                      token=ctx.refreshed["access_token"], session=ctx.session_id,
                      extra_headers={"Origin": "http://evil.example"})
    require(resp.status == 403, f"expected 403 (MCP transports: invalid Origin); got {resp.describe()}")


def rej_q_registration(ctx):
    resp = register(ctx, ["http://evil.example/cb"])
    expect_token_error(resp, 400, "invalid_redirect_uri")


def rej_r_big_body(ctx):
    pad = "x" * (70 * 1024)
    resp = post_form(ctx.asm["token_endpoint"], [("grant_type", "authorization_code"), ("pad", pad)])
    require(resp.status == 413, f"expected 413 for a {len(pad)}-byte body; got {resp.describe()}")


# --------------------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mcp-url", required=True, help="the MCP endpoint, e.g. http://127.0.0.1:PORT/mcp")
    ap.add_argument("--verbose", action="store_true", help="trace every HTTP exchange on stderr")
    args = ap.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose

    rep = Report()
    ctx = Ctx(args.mcp_url, rep.note)

    def run(name, fn, *needs):
        """Run a check if its prerequisites (truthy ctx attributes) are present."""
        missing = [n for n in needs if not getattr(ctx, n)]
        if missing:
            rep.fail(name, f"not run: prerequisite {', '.join(missing)} unavailable")
            return
        rep.run(name, fn, ctx)

    # Discovery and registration
    run("1 initialize without token -> 401 Bearer challenge with resource_metadata", step1_challenge)
    run("2 protected resource metadata (RFC 9728)", step2_prm)
    run("3 authorization server metadata (RFC 8414)", step3_asm, "issuer")
    run("4 dynamic client registration -> 201 (RFC 7591)", step4_register, "asm")
    # Authorization code + PKCE, token
    run("5+6 authorization code (PKCE S256, state, iss) and token response", step5_6_code_and_token, "client_id")
    run("7a initialize with token -> 200 + Mcp-Session-Id", step7_session, "tokens")
    run("7b notifications/initialized -> 202", step7_initialized, "session_id")
    run("7c tools/list includes echo", step7_tools_list, "session_id")
    run("7d tools/call echo -> hello",
        lambda c: call_echo(c, c.tokens["access_token"], c.session_id), "session_id")
    run("8a refresh -> new access token and rotated refresh token", step8_refresh, "tokens")
    run("8b refreshed access token works for tools/call",
        lambda c: call_echo(c, c.refreshed["access_token"], c.session_id), "refreshed", "session_id")

    # Authorization endpoint rejections
    run("a authorize without code_challenge -> invalid_request, no code", rej_a_no_challenge, "client_id")
    run("b authorize with code_challenge_method=plain -> invalid_request, no code", rej_b_plain, "client_id")
    run("c unregistered redirect_uri -> 4xx page, no redirect", rej_c_bad_redirect, "client_id")
    run("d unknown client_id -> 4xx page, no redirect", rej_d_unknown_client, "client_id")
    run("e response_type=token -> unsupported_response_type", rej_e_response_type_token, "client_id")
    run("l foreign resource -> invalid_target (RFC 8707)", rej_l_foreign_resource, "client_id")
    # Token endpoint rejections
    run("f wrong code_verifier -> 400 invalid_grant", rej_f_wrong_verifier, "client_id")
    run("g code redeemed twice -> 400 invalid_grant", rej_g_code_replay, "client_id")
    run("h repeated token request parameter -> 400 invalid_request", rej_h_repeated_param, "client_id")
    run("i grant_type=password -> 400 unsupported_grant_type", rej_i_password, "client_id")
    run("k refresh asking a wider scope (mcp:read + mcp:admin) -> 400 invalid_scope", rej_k_wider_scope, "client_id")
    # Resource server rejections (before j, which may revoke the refreshed access token)
    run("m garbage token -> 401 error=invalid_token", rej_m_garbage_token, "session_id")
    run("m session id without token -> 401", rej_m_session_without_token, "session_id")
    run("n access_token in query string -> refused (4xx)", rej_n_query_token, "refreshed", "session_id")
    run("p Origin: http://evil.example -> 403", rej_p_origin, "refreshed", "session_id")
    run("o mcp:read token calling write_note -> 403 insufficient_scope scope=mcp:write",
        rej_o_insufficient_scope, "client_id")
    run("o step-up: token with the challenged scope, write_note retried on the same session -> 200",
        step_up_same_session, "step_up")
    # Refresh token replay detection
    run("j rotated refresh token reused -> 400 invalid_grant", rej_j_refresh_reuse, "old_refresh_token")
    run("j newest refresh token of the replayed family -> refused (family revoked)",
        rej_j_family_revoked, "refreshed")
    # Registration and size limits
    run("q registration with non-loopback http redirect_uri -> 400 invalid_redirect_uri",
        rej_q_registration, "asm")
    run("r token request body over 64 KiB -> 413", rej_r_big_body, "asm")

    print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
    return 0 if rep.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
