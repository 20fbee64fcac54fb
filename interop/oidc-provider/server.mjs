// An OAuth 2.1 style authorization server on oidc-provider, used as the authorization server
// under test by `mcp-authz test-as`. Configured the way an implementer following oidc-provider's
// own docs and example would: authorization code + PKCE S256 only, open dynamic client
// registration, resource indicators with JWT (RFC 9068) access tokens, refresh token rotation,
// client credentials, introspection and revocation. Not hardened beyond that: the point is to
// see what the harness finds in a typical deployment.
//
// Environment:
//   PORT          port to bind on HOST (default 9100; 0 = a free port)
//   HOST          address to bind (default 127.0.0.1)
//   ISSUER        issuer identifier (default http://HOST:<bound port>)
//   RESOURCES     comma-separated resource indicators the AS issues tokens for
//                 (default http://127.0.0.1:9001/mcp)
//   SCOPES        space-separated scopes of those resources (default "mcp:read mcp:write mcp:admin")
//   AUTO_APPROVE  1 = log in alice and grant consent without showing the forms
//
// Prints `issuer <issuer>` on stdout once it accepts connections.

import { createServer } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT ?? 9100);
const RESOURCES = (process.env.RESOURCES || 'http://127.0.0.1:9001/mcp')
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
const SCOPES = (process.env.SCOPES || 'mcp:read mcp:write mcp:admin').split(/\s+/).filter(Boolean);
const AUTO_APPROVE = process.env.AUTO_APPROVE === '1';

// The one user. A real deployment looks accounts up in its user store.
const ACCOUNTS = { alice: { password: 'alice' } };

if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
    console.error(`PORT must be an integer in 0..65535, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
}

// Bind first, so that ISSUER can default to the port actually bound (PORT=0).
let handler = (_req, res) => res.writeHead(503).end('starting');
const server = createServer((req, res) => handler(req, res));
server.listen(PORT, HOST);
await once(server, 'listening');
const issuer = process.env.ISSUER || `http://${HOST}:${server.address().port}`;

// Signing keys generated at start: one ES256 key in the JWKS (access tokens and ID tokens).
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: `es256-${randomBytes(4).toString('hex')}`, alg: 'ES256', use: 'sig' };

const configuration = {
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },

    // OAuth 2.1: the authorization code flow only.
    responseTypes: ['code'],
    pkce: { required: () => true }, // oidc-provider 9 supports S256 only
    scopes: ['openid', 'offline_access', ...SCOPES],
    clientDefaults: {
        grant_types: ['authorization_code', 'refresh_token'],
        id_token_signed_response_alg: 'ES256',
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic'
    },

    features: {
        devInteractions: { enabled: false }, // the forms below instead
        registration: { enabled: true }, // open dynamic client registration (RFC 7591)
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
            enabled: true,
            // With one resource configured, a request that names none gets that one.
            defaultResource: (_ctx, _client, oneOf) => oneOf ?? (RESOURCES.length === 1 ? RESOURCES[0] : undefined),
            getResourceServerInfo: (_ctx, resourceIndicator) => {
                if (!RESOURCES.includes(resourceIndicator)) {
                    throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
                }
                return {
                    scope: SCOPES.join(' '),
                    audience: resourceIndicator,
                    accessTokenFormat: 'jwt',
                    jwt: { sign: { alg: 'ES256' } }
                };
            }
        }
    },

    // Refresh tokens for every client allowed the refresh_token grant (oidc-provider's default
    // asks for the OpenID `offline_access` scope, which MCP clients do not request), rotated on
    // every use.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,

    findAccount: async (_ctx, sub) =>
        ACCOUNTS[sub] ? { accountId: sub, claims: async () => ({ sub }) } : undefined,

    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` }
};

const provider = new Provider(issuer, configuration);

// --- interactions: login and consent --------------------------------------------------------

const escapeHtml = s =>
    String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page(res, status, title, body) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`);
}

function loginForm(res, uid, client, message) {
    page(res, 200, 'Sign-in', `${message ? `<p class="error">${escapeHtml(message)}</p>` : ''}
<p>${escapeHtml(client?.clientName || client?.clientId || 'a client')} asks you to sign in.</p>
<form method="post" action="/interaction/${uid}/login">
<input type="text" name="login" placeholder="login" autofocus>
<input type="password" name="password" placeholder="password">
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${uid}/abort">Cancel</a></p>`);
}

function consentForm(res, uid, client, details) {
    const scopes = [
        ...(details.missingOIDCScope || []),
        ...Object.entries(details.missingResourceScopes || {}).map(([r, s]) => `${s.join(' ')} on ${r}`)
    ];
    page(res, 200, 'Authorize', `<p>${escapeHtml(client?.clientName || client?.clientId || 'a client')} asks for:</p>
<ul>${scopes.map(s => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<p><a href="/interaction/${uid}/abort">Deny</a></p>`);
}

async function readForm(req) {
    let body = '';
    for await (const chunk of req) {
        body += chunk;
        if (body.length > 16384) throw new Error('form body too large');
    }
    return new URLSearchParams(body);
}

async function finishLogin(req, res, accountId) {
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
}

// Grants what the consent prompt says is missing, as oidc-provider's example does.
async function finishConsent(req, res, details) {
    const {
        prompt: { details: missing },
        params,
        session: { accountId }
    } = details;
    const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    const consent = details.grantId ? {} : { grantId };
    await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new errors.SessionNotFound('interaction uid mismatch');
    const { prompt, params } = details;
    const client = await provider.Client.find(params.client_id);

    if (req.method === 'GET' && action === undefined) {
        if (AUTO_APPROVE) {
            if (prompt.name === 'login') return finishLogin(req, res, 'alice');
            if (prompt.name === 'consent') return finishConsent(req, res, details);
        }
        if (prompt.name === 'login') return loginForm(res, uid, client);
        if (prompt.name === 'consent') return consentForm(res, uid, client, prompt.details);
        return page(res, 400, 'Error', `<p>unexpected prompt ${escapeHtml(prompt.name)}</p>`);
    }
    if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
        const form = await readForm(req);
        const login = form.get('login') ?? '';
        if (!Object.hasOwn(ACCOUNTS, login) || ACCOUNTS[login].password !== form.get('password')) {
            return loginForm(res, uid, client, 'invalid login or password');
        }
        return finishLogin(req, res, login);
    }
    if (req.method === 'POST' && action === 'confirm' && prompt.name === 'consent') {
        return finishConsent(req, res, details);
    }
    if (req.method === 'GET' && action === 'abort') {
        return provider.interactionFinished(
            req,
            res,
            { error: 'access_denied', error_description: 'End-User aborted interaction' },
            { mergeWithLastSubmission: false }
        );
    }
    return page(res, 400, 'Error', `<p>${escapeHtml(req.method)} ${escapeHtml(action ?? '')} does not fit the ${escapeHtml(prompt.name)} prompt</p>`);
}

const providerCallback = provider.callback();
handler = (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/.exec(req.url.split('?')[0]);
    if (!m) return providerCallback(req, res);
    interaction(req, res, m[1], m[2]).catch(err => {
        if (res.headersSent) return res.end();
        const status = err instanceof errors.SessionNotFound ? 400 : 500;
        page(res, status, 'Error', `<p>${escapeHtml(err.error || 'server_error')}: ${escapeHtml(err.error_description || err.message)}</p>`);
    });
};

provider.on('server_error', (_ctx, err) => console.error('server_error', err));

console.log(`issuer ${issuer}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(0));
}
