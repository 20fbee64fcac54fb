// An MCP server on the official TypeScript SDK v2 (@modelcontextprotocol/server 2.x with the
// @modelcontextprotocol/express and @modelcontextprotocol/node adapters), protected the way the
// SDK v2 documentation ("Require authorization", docs/serving/authorization.md, and its
// examples/bearer-auth and examples/oauth servers) protects it: the SDK's requireBearerAuth
// middleware in front of /mcp, the SDK's mcpAuthMetadataRouter for the protected resource
// metadata, and createMcpHandler (a fresh McpServer per request) mounted with toNodeHandler.
// Per-tool scopes use the SDK's own helper: registerTool's `scopeChallenge` option with
// requireScopes(...), which answers a tools/call whose token lacks the scope with
// 403 insufficient_scope before the tool runs. Access tokens are JWTs verified with jose
// against the authorization server's JWKS.
//
// createMcpHandler serves MCP 2026-07-28 (stateless requests with the _meta envelope) and, by
// default (`legacy: 'stateless'`), 2025-era traffic (initialize, then stateless POSTs with no
// session id) from the same factory.
//
// It is the server under test of `mcp-authz test-server`: written as a typical implementer
// following the SDK's docs would write it, and deliberately not hardened beyond what the SDK
// gives, so that what the harness finds is the SDK's baseline.
//
// Configuration (environment): PORT (default 9102; 0 picks a free port), HOST (default
// 127.0.0.1), ISSUER (default http://127.0.0.1:9000), JWKS_URL (default ISSUER + "/jwks"),
// RESOURCE (default http://HOST:PORT/mcp, with the port actually bound), REQUIRED_SCOPES
// (default none), LEGACY (`stateless`, the SDK's default: 2025-era requests served too;
// `reject`: MCP 2026-07-28 only).

import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as z from 'zod/v4';
import {
    createMcpExpressApp,
    getOAuthProtectedResourceMetadataUrl,
    mcpAuthMetadataRouter,
    requireBearerAuth
} from '@modelcontextprotocol/express';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, OAuthError, OAuthErrorCode, requireScopes } from '@modelcontextprotocol/server';

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT || '9102', 10);
const ISSUER = process.env.ISSUER || 'http://127.0.0.1:9000';
const JWKS_URL = process.env.JWKS_URL || `${ISSUER}/jwks`;
// Scopes every request to /mcp must carry (space-separated; none by default, as in the SDK's
// OAuth example): the middleware's endpoint-wide check, on top of the per-tool challenges.
const REQUIRED_SCOPES = (process.env.REQUIRED_SCOPES || '').split(' ').filter(Boolean);
const LEGACY = process.env.LEGACY || 'stateless';
const SCOPES = { echo: 'mcp:read', write_note: 'mcp:write' };

// Notes outlive the per-request McpServer instances.
const notes = [];

/** The per-request server factory: the same tools for both protocol eras. */
function buildServer(ctx) {
    // Every caller gets the same tool list (the scopes are checked per call), so the list may
    // be shared across tokens: 2026-07-28 caching §Choosing a Cache Scope, "`public` is
    // appropriate for lists of tools … when they are identical for all users". The SDK's
    // default is `private`. (mcp-authz's RS-CACHE-01 needs a public list to apply.)
    const server = new McpServer(
        { name: 'mcp-authz-interop-typescript-sdk-v2', version: '0.0.0' },
        { cacheHints: { 'tools/list': { ttlMs: 0, cacheScope: 'public' } } }
    );
    server.registerTool(
        'echo',
        {
            title: 'Echo',
            description: `Returns its text (requires scope ${SCOPES.echo})`,
            inputSchema: z.object({ text: z.string().describe('Text to echo') }),
            annotations: { readOnlyHint: true },
            scopeChallenge: requireScopes(SCOPES.echo)
        },
        async ({ text }) => ({ content: [{ type: 'text', text }] })
    );
    server.registerTool(
        'write_note',
        {
            title: 'Write note',
            description: `Stores a note (requires scope ${SCOPES.write_note})`,
            inputSchema: z.object({ text: z.string().describe('Note text') }),
            annotations: { readOnlyHint: false },
            scopeChallenge: requireScopes(SCOPES.write_note)
        },
        async ({ text }) => {
            notes.push({ text, by: ctx.authInfo?.extra?.sub });
            return { content: [{ type: 'text', text: `stored note ${notes.length}` }] };
        }
    );
    return server;
}

const app = createMcpExpressApp({ host: HOST });
const httpServer = app.listen(PORT, HOST, error => {
    if (error) {
        console.error('failed to start server:', error);
        process.exit(1);
    }
    const port = httpServer.address().port;
    const resource = process.env.RESOURCE || `http://${HOST}:${port}/mcp`;
    installRoutes(new URL(resource));
    console.log(`listening on ${resource}`);
});

function installRoutes(resource) {
    const jwks = createRemoteJWKSet(new URL(JWKS_URL));
    const verifier = {
        async verifyAccessToken(token) {
            // The middleware answers 401 only for an OAuthError with code invalid_token:
            // anything else thrown here (jose's own errors included) becomes a 500 server_error.
            const { payload } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: resource.href }).catch(error => {
                throw new OAuthError(OAuthErrorCode.InvalidToken, `invalid token: ${error.message}`);
            });
            // The `aud` entry naming this server, which the middleware compares with
            // `expectedResource` (the SDK documents filling AuthInfo.resource from `aud`).
            const audience = [payload.aud ?? []].flat().find(aud => aud === resource.href);
            return {
                token,
                clientId: payload.client_id,
                scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
                expiresAt: payload.exp,
                resource: audience ? new URL(audience) : undefined,
                extra: { sub: payload.sub }
            };
        }
    };

    // RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp (and, always, the
    // authorization server metadata given here at /.well-known/oauth-authorization-server).
    app.use(
        mcpAuthMetadataRouter({
            oauthMetadata: {
                issuer: ISSUER,
                authorization_endpoint: `${ISSUER}/authorize`,
                token_endpoint: `${ISSUER}/token`,
                registration_endpoint: `${ISSUER}/register`,
                response_types_supported: ['code'],
                code_challenge_methods_supported: ['S256']
            },
            resourceServerUrl: resource,
            scopesSupported: Object.values(SCOPES),
            resourceName: 'mcp-authz interop server (TypeScript SDK v2)'
        })
    );

    const auth = requireBearerAuth({
        verifier,
        requiredScopes: REQUIRED_SCOPES,
        resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource),
        expectedResource: resource
    });

    // `requireBearerAuth` sets `req.auth`; `toNodeHandler` passes it on as the handler's
    // `authInfo` (the factory's `ctx.authInfo`, a tool's `ctx.http.authInfo`).
    const legacy = LEGACY === 'reject' ? 'reject' : 'stateless';
    const node = toNodeHandler(createMcpHandler(buildServer, { legacy, onerror: error => console.error('mcp:', error.message) }));
    app.all(resource.pathname, auth, (req, res) => void node(req, res, req.body));
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
