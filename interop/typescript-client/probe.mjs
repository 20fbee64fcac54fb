// Probes behind the README's observations, run by hand: `node probe.mjs` (after `npm ci`).
//
// Each case starts a throwaway MCP server and authorization server on loopback port 0 (honest,
// or hostile in one way), runs client.mjs against it, and prints every request the servers
// received and how the client ended. A third server, "elsewhere", stands for any other origin:
// it only records what reaches it. Nothing is asserted: this prints what happened, for a person.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLIENT = fileURLToPath(new URL('./client.mjs', import.meta.url));

async function listen(handler) {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, url: `http://127.0.0.1:${server.address().port}` };
}

async function readBody(req) {
    let body = '';
    for await (const chunk of req) body += chunk;
    return body;
}

const json = (res, status, value, headers = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));

/** Runs client.mjs against a fresh pair of servers configured by `opts`; returns what happened. */
async function runCase(opts) {
    const log = [];
    const granted = new Map(); // access token -> scope
    const codes = new Map(); // code -> scope
    let issued = 0;
    const record = (who, req, body) => {
        const auth = req.headers.authorization;
        log.push(`${who} ${req.method} ${req.url}${auth ? ` [Authorization: ${auth}]` : ''}${body ? ` ${body}` : ''}`);
    };

    const elsewhere = await listen(async (req, res) => {
        record('elsewhere', req, await readBody(req));
        res.writeHead(404).end();
    });
    const as = await listen(async (req, res) => {
        const body = await readBody(req);
        record('AS', req, body);
        const url = new URL(req.url, as.url);
        if (url.pathname === '/.well-known/oauth-authorization-server') {
            const metadata = {
                issuer: opts.issuer ?? as.url,
                authorization_endpoint: `${as.url}/authorize`,
                token_endpoint: `${as.url}/token`,
                registration_endpoint: `${as.url}/register`,
                response_types_supported: ['code'],
                grant_types_supported: ['authorization_code', 'refresh_token'],
                token_endpoint_auth_methods_supported: ['none'],
                authorization_response_iss_parameter_supported: true,
                code_challenge_methods_supported: ['S256']
            };
            if (opts.authorizationEndpoint) metadata.authorization_endpoint = opts.authorizationEndpoint;
            if (opts.methods === null) delete metadata.code_challenge_methods_supported;
            else if (opts.methods) metadata.code_challenge_methods_supported = opts.methods;
            return json(res, 200, metadata);
        }
        if (url.pathname === '/register') {
            return json(res, 201, { ...JSON.parse(body), client_id: 'probe-client' });
        }
        if (url.pathname === '/authorize') {
            const q = url.searchParams;
            const code = `code-${codes.size + 1}`;
            codes.set(code, q.get('scope') ?? '');
            const back = new URL(q.get('redirect_uri'));
            back.searchParams.set('code', code);
            back.searchParams.set('state', opts.state ?? q.get('state') ?? '');
            back.searchParams.set('iss', opts.iss ?? as.url);
            res.writeHead(302, { location: back.href }).end();
            return;
        }
        if (url.pathname === '/token') {
            const form = new URLSearchParams(body);
            const scope = form.get('grant_type') === 'refresh_token' ? 'mcp:read' : codes.get(form.get('code'));
            const token = `token-${++issued}`;
            granted.set(token, scope);
            const answer = { access_token: token, token_type: 'Bearer', expires_in: 600, scope };
            if (opts.refresh) answer.refresh_token = `refresh-${issued}`;
            return json(res, 200, answer, { 'cache-control': 'no-store' });
        }
        res.writeHead(404).end();
    });
    const rs = await listen(async (req, res) => {
        const body = await readBody(req);
        record('RS', req, req.method === 'POST' ? JSON.parse(body).method : '');
        const prmUrl = `${rs.url}/.well-known/oauth-protected-resource/mcp`;
        if (req.url === '/.well-known/oauth-protected-resource/mcp') {
            return json(res, 200, {
                resource: opts.resourceIsOrigin ? rs.url : (opts.resource ?? `${rs.url}/mcp`),
                authorization_servers: [as.url],
                scopes_supported: ['mcp:read', 'mcp:write']
            });
        }
        if (req.url !== '/mcp') return res.writeHead(404).end();
        if (req.method !== 'POST') return res.writeHead(405).end();
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!granted.has(token) || opts.always401) {
            return json(res, 401, { error: 'invalid_token' }, {
                'www-authenticate': `Bearer resource_metadata="${opts.canary ? `${elsewhere.url}/canary` : prmUrl}", scope="mcp:read"`
            });
        }
        const message = JSON.parse(body);
        if (opts.redirect && message.method === 'tools/call') {
            res.writeHead(307, { location: `${elsewhere.url}/mcp` }).end();
            return;
        }
        const lacksWrite = !granted.get(token).split(' ').includes('mcp:write');
        if ((opts.stepUp && lacksWrite || opts.always403) && message.method === 'tools/call') {
            return json(res, 403, { error: 'insufficient_scope' }, {
                'www-authenticate': `Bearer error="insufficient_scope", scope="mcp:write", resource_metadata="${prmUrl}"`
            });
        }
        if (message.id === undefined) return res.writeHead(202).end();
        const results = {
            initialize: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'probe', version: '0' } },
            'tools/list': { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] },
            'tools/call': { content: [{ type: 'text', text: 'ok' }], isError: false }
        };
        return json(res, 200, { jsonrpc: '2.0', id: message.id, result: results[message.method] ?? {} });
    });

    const child = spawn(process.execPath, [CLIENT, '--tool', 'echo', '--arguments', '{}', `${rs.url}/mcp`], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, MCP_CLIENT_TRACE: '1' }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', chunk => (stdout += chunk));
    child.stderr.on('data', chunk => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 30000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    for (const s of [rs, as, elsewhere]) s.server.close();
    const ports = { [rs.url]: 'RS', [as.url]: 'AS', [elsewhere.url]: 'ELSEWHERE' };
    const anonymize = text => Object.entries(ports).reduce((t, [u, n]) => t.replaceAll(u, n).replaceAll(encodeURIComponent(u), n), text);
    // The client's trace names the URLs its user agent opened; everything else is in `log`.
    const opened = stderr.split('\n').filter(l => l.endsWith('(user agent)')).map(l => `opened by the user agent: ${l.slice('[trace] GET '.length)}`);
    const errors = stderr.split('\n').filter(l => l && !l.startsWith('[trace]') && !/^\s+at /.test(l));
    return {
        exit: signal ? `killed (${signal})` : code,
        stdout: stdout.trim(),
        // Opening the authorization endpoint also shows in the AS's log; anything else is news.
        opened: opened.map(anonymize).filter(line => !line.startsWith('opened by the user agent: AS/')),
        error: anonymize(errors.join(' ').replace(/\s+/g, ' ').slice(0, 400)),
        log: log.map(anonymize)
    };
}

const cases = [
    ['honest', {}],
    ['honest, second run (is the PKCE verifier fresh?)', {}],
    ['401 challenge with resource_metadata on another origin (a canary)', { canary: true }],
    ['AS metadata issuer is another URL', { issuer: 'https://evil.example' }],
    ['PRM resource is another server', { resource: 'http://127.0.0.1:1/other' }],
    ['PRM resource is the server origin, without the /mcp path', { resourceIsOrigin: true }],
    ['AS authorization_endpoint is a javascript: URL', { authorizationEndpoint: 'javascript:alert(1)//' }],
    ['AS authorization_endpoint is a file: URL', { authorizationEndpoint: 'file:///etc/passwd' }],
    ['AS advertises only plain PKCE', { methods: ['plain'] }],
    ['AS metadata without code_challenge_methods_supported', { methods: null }],
    ['authorization response iss is another issuer', { iss: 'https://evil.example' }],
    ['authorization response state is not the one sent', { state: 'forged' }],
    ['403 insufficient_scope on tools/call, no refresh token', { stepUp: true }],
    ['403 insufficient_scope on tools/call, with a refresh token', { stepUp: true, refresh: true }],
    ['403 insufficient_scope on every tools/call, whatever the token', { always403: true }],
    ['401 even with a fresh token', { always401: true }],
    ['MCP server answers tools/call with 307 to another origin', { redirect: true }]
];
const only = process.argv[2];
for (const [name, opts] of cases) {
    if (only && !name.includes(only)) continue;
    const result = await runCase(opts);
    console.log(`\n## ${name}`);
    for (const line of result.log) console.log(`  ${line}`);
    for (const line of result.opened) console.log(`  ${line}`);
    console.log(`  => exit ${result.exit}; stdout: ${result.stdout || '(none)'}${result.error ? `; stderr: ${result.error}` : ''}`);
}
