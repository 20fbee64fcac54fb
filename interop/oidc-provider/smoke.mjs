// Smoke test of server.mjs, run by hand: `node smoke.mjs` (after `npm ci`).
//
// Starts server.mjs twice on a free port, once with AUTO_APPROVE=1 and once with the login and
// consent forms, and each time plays a client with plain fetch and a cookie jar: AS metadata,
// dynamic registration of a public client, the authorization code flow with PKCE S256, state and
// a resource indicator followed headlessly to the code, the token exchange (an RFC 9068 JWT for
// the resource, checked against the JWKS), refresh token rotation and reuse, an unknown resource,
// and client credentials for a confidential client. Prints one PASS/FAIL line per check; exits
// non-zero on a failure.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const RESOURCE = 'http://127.0.0.1:9001/mcp';
const REDIRECT_URI = 'http://127.0.0.1:7777/callback';

let failures = 0;
let passes = 0;
function check(name, ok, detail) {
    if (ok) passes += 1;
    else failures += 1;
    console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${ok || detail === undefined ? '' : `: ${detail}`}`);
    return ok;
}
const show = v => (typeof v === 'string' ? v : JSON.stringify(v));

/** Starts server.mjs on a free port; resolves to { issuer, child } once it printed its readiness line. */
function startServer(extraEnv) {
    const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', RESOURCES: RESOURCE, ...extraEnv };
    delete env.ISSUER;
    delete env.SCOPES;
    if (extraEnv.AUTO_APPROVE === undefined) delete env.AUTO_APPROVE;
    const child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url))], {
        env,
        stdio: ['ignore', 'pipe', 'pipe']
    });
    let stderr = '';
    child.stderr.on('data', chunk => {
        stderr += chunk;
    });
    return new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no readiness line within 20 s; stdout: ${out}`)), 20000);
        child.stdout.on('data', chunk => {
            out += chunk;
            const m = out.match(/^issuer (\S+)$/m);
            if (m) {
                clearTimeout(timer);
                resolve({ issuer: m[1], child, stderr: () => stderr });
            }
        });
        child.on('exit', code => reject(new Error(`server exited with ${code} before it was ready; stderr: ${stderr}`)));
    });
}

/** A minimal cookie jar: name → value, sent to every path of the one origin. */
class CookieJar {
    cookies = new Map();
    store(res) {
        for (const line of res.headers.getSetCookie()) {
            const [pair, ...attrs] = line.split(';');
            const eq = pair.indexOf('=');
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            const expired = attrs.some(a => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
            if (expired || value === '') this.cookies.delete(name);
            else this.cookies.set(name, value);
        }
    }
    header() {
        return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
}

async function request(jar, url, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (jar.cookies.size) headers.cookie = jar.header();
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(res);
    return res;
}

const formBody = obj => new URLSearchParams(obj).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function pkcePair() {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    return { verifier, challenge };
}

/**
 * Follows the authorization request headlessly to the redirect back to the client: redirects
 * are followed with the cookie jar; a login or consent form (when the server shows one) is
 * posted. Returns the callback URL, or throws saying where it stopped.
 */
async function authorize(issuer, jar, authUrl) {
    let url = authUrl;
    const formsPosted = [];
    for (let hop = 0; hop < 20; hop += 1) {
        if (url.startsWith(REDIRECT_URI)) return { callback: new URL(url), formsPosted };
        const res = await request(jar, url);
        if (res.status >= 300 && res.status < 400) {
            url = new URL(res.headers.get('location'), url).href;
            continue;
        }
        const html = await res.text();
        if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${html.slice(0, 300)}`);
        const action = html.match(/<form method="post" action="([^"]+)"/)?.[1];
        if (!action) throw new Error(`${url} answered 200 with no form: ${html.slice(0, 300)}`);
        const fields = action.endsWith('/login') ? { login: 'alice', password: 'alice' } : {};
        formsPosted.push(action.split('/').pop());
        const post = await request(jar, new URL(action, issuer).href, {
            method: 'POST',
            headers: FORM,
            body: formBody(fields)
        });
        if (post.status < 300 || post.status >= 400) {
            throw new Error(`posting ${action} answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
        }
        url = new URL(post.headers.get('location'), url).href;
    }
    throw new Error('more than 20 hops without reaching the redirect_uri');
}

async function token(issuer, params, headers = {}) {
    const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { ...FORM, ...headers },
        body: formBody(params)
    });
    return { status: res.status, headers: res.headers, body: await res.json().catch(() => ({})) };
}

async function suite(mode) {
    console.log(`# ${mode}`);
    const server = await startServer(mode === 'AUTO_APPROVE=1' ? { AUTO_APPROVE: '1' } : {});
    const { issuer } = server;
    try {
        // RFC 8414 metadata first (what MCP clients try first), then OpenID discovery.
        const metaRes = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
        const meta = metaRes.ok ? await metaRes.json() : {};
        check('RFC 8414 metadata at /.well-known/oauth-authorization-server', metaRes.status === 200 && meta.issuer === issuer, `${metaRes.status} issuer=${meta.issuer}`);
        check('code_challenge_methods_supported contains S256', meta.code_challenge_methods_supported?.includes('S256'), show(meta.code_challenge_methods_supported));
        check('response_types_supported is [code]', show(meta.response_types_supported) === '["code"]', show(meta.response_types_supported));
        const oidcRes = await fetch(`${issuer}/.well-known/openid-configuration`);
        check('OpenID discovery at /.well-known/openid-configuration', oidcRes.status === 200 && (await oidcRes.json()).issuer === issuer, `${oidcRes.status}`);

        // Dynamic registration of a public client.
        const regRes = await fetch(meta.registration_endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
                client_name: 'smoke public client',
                redirect_uris: [REDIRECT_URI],
                grant_types: ['authorization_code', 'refresh_token'],
                response_types: ['code'],
                token_endpoint_auth_method: 'none',
                scope: 'mcp:read mcp:write'
            })
        });
        const reg = await regRes.json();
        check('DCR of a public client: 201 with a client_id, auth method none', regRes.status === 201 && reg.client_id && reg.token_endpoint_auth_method === 'none' && !reg.client_secret, `${regRes.status} ${show(reg)}`);

        // Authorization code flow with PKCE S256, state and resource, followed headlessly.
        const jar = new CookieJar();
        const { verifier, challenge } = pkcePair();
        const state = randomBytes(16).toString('base64url');
        const authUrl = new URL(meta.authorization_endpoint);
        authUrl.search = formBody({
            response_type: 'code',
            client_id: reg.client_id,
            redirect_uri: REDIRECT_URI,
            scope: 'mcp:read mcp:write',
            state,
            code_challenge: challenge,
            code_challenge_method: 'S256',
            resource: RESOURCE
        });
        let callback;
        try {
            const r = await authorize(issuer, jar, authUrl.href);
            callback = r.callback;
            const expectedForms = mode === 'AUTO_APPROVE=1' ? '[]' : '["login","confirm"]';
            check(`authorization reached the redirect_uri (forms posted: ${show(r.formsPosted)})`, show(r.formsPosted) === expectedForms, `expected forms ${expectedForms}`);
        } catch (err) {
            check('authorization reached the redirect_uri', false, err.message);
            return;
        }
        const code = callback.searchParams.get('code');
        check('authorization response has a code and echoes state', !!code && callback.searchParams.get('state') === state, callback.href);
        check('authorization response has iss (RFC 9207) equal to the issuer', callback.searchParams.get('iss') === issuer, callback.searchParams.get('iss'));

        // Token exchange with the resource.
        const tok = await token(issuer, {
            grant_type: 'authorization_code',
            code,
            redirect_uri: REDIRECT_URI,
            code_verifier: verifier,
            client_id: reg.client_id,
            resource: RESOURCE
        });
        check('token exchange: 200 Bearer with access and refresh tokens', tok.status === 200 && tok.body.token_type === 'Bearer' && tok.body.access_token && tok.body.refresh_token, `${tok.status} ${show(tok.body)}`);
        check('token response has Cache-Control: no-store', tok.headers.get('cache-control') === 'no-store', tok.headers.get('cache-control'));
        const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
        let header = {};
        try {
            header = decodeProtectedHeader(tok.body.access_token);
        } catch (err) {
            check('access token is a JWT', false, err.message);
        }
        check('access token header: typ at+jwt, alg ES256', header.typ === 'at+jwt' && header.alg === 'ES256', show(header));
        try {
            const { payload } = await jwtVerify(tok.body.access_token, jwks, { issuer, audience: RESOURCE, typ: 'at+jwt' });
            check('access token verifies against the JWKS with iss = issuer, aud = resource', true);
            check('access token scope is the requested scope', payload.scope === 'mcp:read mcp:write', payload.scope);
            check('access token has sub alice and client_id', payload.sub === 'alice' && payload.client_id === reg.client_id, show(payload));
        } catch (err) {
            check('access token verifies against the JWKS with iss = issuer, aud = resource', false, err.message);
        }

        // Refresh with rotation, then reuse of the rotated-out token.
        const rt1 = tok.body.refresh_token;
        const ref = await token(issuer, { grant_type: 'refresh_token', refresh_token: rt1, client_id: reg.client_id, resource: RESOURCE });
        check('refresh: 200 with a new access token and a rotated refresh token', ref.status === 200 && ref.body.access_token && ref.body.refresh_token && ref.body.refresh_token !== rt1, `${ref.status} ${show(ref.body)}`);
        try {
            await jwtVerify(ref.body.access_token, jwks, { issuer, audience: RESOURCE, typ: 'at+jwt' });
            check('refreshed access token is for the resource', true);
        } catch (err) {
            check('refreshed access token is for the resource', false, err.message);
        }
        const reuse = await token(issuer, { grant_type: 'refresh_token', refresh_token: rt1, client_id: reg.client_id });
        check('rotated-out refresh token is refused (invalid_grant)', reuse.status === 400 && reuse.body.error === 'invalid_grant', `${reuse.status} ${show(reuse.body)}`);
        const after = await token(issuer, { grant_type: 'refresh_token', refresh_token: ref.body.refresh_token, client_id: reg.client_id });
        check('after that reuse, its successor is refused too (grant revoked)', after.status === 400 && after.body.error === 'invalid_grant', `${after.status} ${show(after.body)}`);

        // PKCE is required: the same request without code_challenge is refused.
        const noPkce = new URL(authUrl);
        noPkce.searchParams.delete('code_challenge');
        noPkce.searchParams.delete('code_challenge_method');
        const noPkceRes = await request(new CookieJar(), noPkce.href);
        const noPkceLoc = new URL(noPkceRes.headers.get('location') || 'about:blank');
        check('authorization request without code_challenge is refused (invalid_request)', noPkceLoc.href.startsWith(REDIRECT_URI) && noPkceLoc.searchParams.get('error') === 'invalid_request', `${noPkceRes.status} ${noPkceLoc.href}`);

        // An unknown resource at the authorization endpoint.
        const bad = new URL(authUrl);
        bad.searchParams.set('resource', 'http://127.0.0.1:9999/other');
        const badRes = await request(new CookieJar(), bad.href);
        const badLoc = new URL(badRes.headers.get('location') || 'about:blank');
        check('unknown resource is refused with invalid_target', badLoc.href.startsWith(REDIRECT_URI) && badLoc.searchParams.get('error') === 'invalid_target', `${badRes.status} ${badLoc.href}`);

        // Client credentials for a confidential client.
        const ccRes = await fetch(meta.registration_endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
                client_name: 'smoke service',
                grant_types: ['client_credentials'],
                response_types: [],
                redirect_uris: [],
                token_endpoint_auth_method: 'client_secret_basic',
                scope: 'mcp:read'
            })
        });
        const cc = await ccRes.json();
        check('DCR of a confidential client: 201 with a client_secret', ccRes.status === 201 && !!cc.client_secret, `${ccRes.status} ${show(cc)}`);
        const basic = Buffer.from(`${encodeURIComponent(cc.client_id)}:${encodeURIComponent(cc.client_secret)}`).toString('base64');
        const cct = await token(issuer, { grant_type: 'client_credentials', scope: 'mcp:read', resource: RESOURCE }, { authorization: `Basic ${basic}` });
        check('client_credentials: 200 with an access token', cct.status === 200 && !!cct.body.access_token && !cct.body.refresh_token, `${cct.status} ${show(cct.body)}`);
        try {
            const { payload } = await jwtVerify(cct.body.access_token, jwks, { issuer, audience: RESOURCE, typ: 'at+jwt' });
            check('client_credentials token: aud = resource, scope mcp:read, sub = client_id', payload.scope === 'mcp:read' && payload.sub === cc.client_id, show(payload));
        } catch (err) {
            check('client_credentials token verifies for the resource', false, err.message);
        }
        const ccWrong = await token(issuer, { grant_type: 'client_credentials', resource: RESOURCE }, { authorization: `Basic ${Buffer.from(`${cc.client_id}:wrong`).toString('base64')}` });
        check('client_credentials with a wrong secret: 401 invalid_client', ccWrong.status === 401 && ccWrong.body.error === 'invalid_client', `${ccWrong.status} ${show(ccWrong.body)}`);

        if (mode !== 'AUTO_APPROVE=1') {
            // A wrong password shows the form again; nothing is issued.
            const jar2 = new CookieJar();
            let res = await request(jar2, authUrl.href);
            while (res.status >= 300 && res.status < 400 && !res.headers.get('location').startsWith(REDIRECT_URI)) {
                res = await request(jar2, new URL(res.headers.get('location'), issuer).href);
            }
            const action = (await res.text()).match(/action="([^"]+\/login)"/)?.[1];
            const wrong = action
                ? await request(jar2, new URL(action, issuer).href, { method: 'POST', headers: FORM, body: formBody({ login: 'alice', password: 'bob' }) })
                : undefined;
            const wrongHtml = wrong ? await wrong.text() : '';
            check('wrong password: the login form again with an error, no redirect', wrong?.status === 200 && wrongHtml.includes('invalid login or password') && wrongHtml.includes('name="password"'), `${wrong?.status} ${wrongHtml.slice(0, 200)}`);

            // Cancel on the login form: the client gets access_denied.
            let abort = await request(jar2, new URL(action.replace(/\/login$/, '/abort'), issuer).href);
            while (abort.status >= 300 && abort.status < 400 && !abort.headers.get('location').startsWith(REDIRECT_URI)) {
                abort = await request(jar2, new URL(abort.headers.get('location'), issuer).href);
            }
            const abortLoc = new URL(abort.headers.get('location') || 'about:blank');
            check('cancel on the login form: access_denied to the redirect_uri', abortLoc.href.startsWith(REDIRECT_URI) && abortLoc.searchParams.get('error') === 'access_denied' && abortLoc.searchParams.get('state') === state, `${abort.status} ${abortLoc.href}`);
        }
    } finally {
        server.child.kill();
        if (/server_error/.test(server.stderr())) {
            check('no server_error on the server', false, server.stderr());
        }
    }
}

try {
    await suite('AUTO_APPROVE=1');
    await suite('login and consent forms');
} catch (err) {
    check('smoke test ran to the end', false, err.stack);
}
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
