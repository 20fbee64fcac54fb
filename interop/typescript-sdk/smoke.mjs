// Smoke test of server.mjs, run by hand: `node smoke.mjs` (after `npm ci`).
//
// Plays the authorization server itself (an ES256 key, its JWKS served on a loopback port 0,
// RFC 9068 access tokens minted with jose), starts server.mjs on port 0 trusting it, and checks
// the protected resource metadata, the 401 challenge, an MCP session with a read token, and
// the per-tool scope check. Prints one PASS/FAIL line per check; exits non-zero on a failure.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const results = [];
function check(name, ok, detail) {
    results.push(ok);
    console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${ok || detail === undefined ? '' : `: ${detail}`}`);
}

// The authorization server's side: a key and its JWKS.
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'smoke-1', alg: 'ES256', use: 'sig' };
const jwksServer = createServer((req, res) => {
    if (req.url === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
        res.writeHead(404).end();
    }
});
jwksServer.listen(0, '127.0.0.1');
await once(jwksServer, 'listening');
const issuer = `http://127.0.0.1:${jwksServer.address().port}`;

// The server under test, on a free port.
const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', ISSUER: issuer, JWKS_URL: `${issuer}/jwks` };
delete env.RESOURCE;
const child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url))], {
    env,
    stdio: ['ignore', 'pipe', 'inherit']
});
const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no readiness line within 20 s; stdout: ${out}`)), 20000);
    child.stdout.on('data', chunk => {
        out += chunk;
        const m = out.match(/^listening on (\S+)$/m);
        if (m) {
            clearTimeout(timer);
            resolve(m[1]);
        }
    });
    child.on('exit', code => reject(new Error(`server exited with ${code} before it was ready; stdout: ${out}`)));
});
const origin = new URL(url).origin;

function mint(scope, claims = {}) {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
        iss: issuer,
        sub: 'smoke-user',
        aud: url,
        client_id: 'smoke-client',
        scope,
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
        ...claims
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'at+jwt' }).sign(privateKey);
}

/** Posts one JSON-RPC message; returns status, headers and the JSON-RPC answer (JSON or SSE). */
async function rpc(token, message, sessionId) {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (sessionId) {
        headers['mcp-session-id'] = sessionId;
        headers['mcp-protocol-version'] = '2025-11-25';
    }
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(message) });
    const text = await res.text();
    let body = null;
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        const data = text.split('\n').filter(l => l.startsWith('data:')).map(l => JSON.parse(l.slice(5)));
        body = data.find(m => m.id === message.id) ?? null;
    } else if (text) {
        body = JSON.parse(text);
    }
    return { status: res.status, headers: res.headers, body };
}

function callTool(token, sessionId, id, name, text) {
    return rpc(token, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { text } } }, sessionId);
}
const succeeded = answer => answer.status === 200 && answer.body?.result !== undefined && answer.body.result.isError !== true;
const textOf = answer => answer.body?.result?.content?.[0]?.text ?? '';
const describe = answer => `${answer.status} ${JSON.stringify(answer.body)}`;

try {
    // Protected resource metadata (RFC 9728), at the path-suffixed well-known URL.
    const prmUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
    const prmRes = await fetch(prmUrl);
    const prm = prmRes.status === 200 ? await prmRes.json() : null;
    check(
        'protected resource metadata names the resource, the issuer and the scopes',
        prm !== null &&
            prm.resource === url &&
            JSON.stringify(prm.authorization_servers) === JSON.stringify([issuer]) &&
            ['mcp:read', 'mcp:write'].every(s => prm.scopes_supported?.includes(s)),
        `${prmRes.status} ${JSON.stringify(prm)}`
    );

    // No token: 401 with a Bearer challenge pointing at the metadata.
    const init = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'smoke', version: '0' } }
    };
    const anon = await rpc(null, init);
    const challenge = anon.headers.get('www-authenticate') ?? '';
    check(
        'no token: 401 with a Bearer challenge carrying resource_metadata',
        anon.status === 401 && /^Bearer /.test(challenge) && challenge.includes(`resource_metadata="${prmUrl}"`),
        `${anon.status} ${challenge}`
    );

    // A token for another audience: 401 too.
    const other = await rpc(await mint('mcp:read', { aud: 'http://127.0.0.1:1/mcp' }), init);
    check('token for another audience: 401', other.status === 401, `${other.status}`);

    // A session with a read token.
    const read = await mint('mcp:read');
    const started = await rpc(read, init);
    const sessionId = started.headers.get('mcp-session-id');
    check(
        'initialize with an mcp:read token opens a session',
        started.status === 200 && sessionId !== null && started.body?.result?.protocolVersion !== undefined,
        `${started.status} session=${sessionId} ${JSON.stringify(started.body)}`
    );
    const notified = await rpc(read, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId);
    check('notifications/initialized: 202', notified.status === 202, `${notified.status}`);

    const listed = await rpc(read, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, sessionId);
    const names = (listed.body?.result?.tools ?? []).map(t => t.name).sort();
    check('tools/list names echo and write_note', JSON.stringify(names) === '["echo","write_note"]', JSON.stringify(listed.body));

    const echoed = await callTool(read, sessionId, 3, 'echo', 'hello');
    check('echo with mcp:read answers its text', succeeded(echoed) && textOf(echoed) === 'hello', describe(echoed));

    const refused = await callTool(read, sessionId, 4, 'write_note', 'x');
    check(
        'write_note with a read-only token is refused',
        refused.status === 403 ||
            refused.body?.error !== undefined ||
            (refused.body?.result?.isError === true && !textOf(refused).startsWith('stored note')),
        describe(refused)
    );

    // Positive control for the refusal: the same call with mcp:write succeeds.
    const write = await mint('mcp:write');
    const writeSession = (await rpc(write, init)).headers.get('mcp-session-id');
    const written = await callTool(write, writeSession, 5, 'write_note', 'x');
    check('write_note with mcp:write stores the note', succeeded(written) && /^stored note \d+$/.test(textOf(written)), describe(written));
} catch (error) {
    check('smoke run completes', false, error.stack ?? String(error));
} finally {
    child.kill();
    jwksServer.close();
}

const failed = results.filter(ok => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
