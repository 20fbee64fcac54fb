// An MCP server on the official TypeScript SDK (@modelcontextprotocol/sdk 1.x), protected the
// way the SDK's own example (src/examples/server/simpleStreamableHttp.ts, --oauth) protects it:
// the SDK's requireBearerAuth middleware in front of /mcp, the SDK's mcpAuthMetadataRouter for
// the protected resource metadata, and a stateful StreamableHTTPServerTransport per session.
// Access tokens are JWTs verified with jose against the authorization server's JWKS.
//
// It is the server under test of `mcp-authz test-server`: written as a typical implementer
// following the SDK's docs would write it, and deliberately not hardened beyond what the SDK
// gives, so that what the harness finds is the SDK's baseline.
//
// Configuration (environment): PORT (default 9101; 0 picks a free port), HOST (default
// 127.0.0.1), ISSUER (default http://127.0.0.1:9000), JWKS_URL (default ISSUER + "/jwks"),
// RESOURCE (default http://HOST:PORT/mcp, with the port actually bound), REQUIRED_SCOPES
// (default none).

import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT || '9101', 10);
const ISSUER = process.env.ISSUER || 'http://127.0.0.1:9000';
const JWKS_URL = process.env.JWKS_URL || `${ISSUER}/jwks`;
// Scopes every request to /mcp must carry (space-separated; none by default, as in the SDK's
// example): the middleware's endpoint-wide check, on top of the per-tool checks.
const REQUIRED_SCOPES = (process.env.REQUIRED_SCOPES || '').split(' ').filter(Boolean);
const SCOPES = { echo: 'mcp:read', write_note: 'mcp:write' };

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

/** The per-tool scope check: the SDK has no per-tool mechanism, so each handler asks. */
function requireScope(extra, scope) {
    const scopes = extra.authInfo?.scopes ?? [];
    if (!scopes.includes(scope)) {
        throw new Error(`insufficient scope: this tool requires ${scope}`);
    }
}

function getServer(notes) {
    const server = new McpServer({ name: 'mcp-authz-interop-typescript-sdk', version: '0.0.0' });
    server.registerTool(
        'echo',
        {
            title: 'Echo',
            description: `Returns its text (requires scope ${SCOPES.echo})`,
            inputSchema: { text: z.string().describe('Text to echo') },
            annotations: { readOnlyHint: true }
        },
        async ({ text }, extra) => {
            requireScope(extra, SCOPES.echo);
            return { content: [{ type: 'text', text }] };
        }
    );
    server.registerTool(
        'write_note',
        {
            title: 'Write note',
            description: `Stores a note (requires scope ${SCOPES.write_note})`,
            inputSchema: { text: z.string().describe('Note text') },
            annotations: { readOnlyHint: false }
        },
        async ({ text }, extra) => {
            requireScope(extra, SCOPES.write_note);
            notes.push({ text, by: extra.authInfo?.extra?.sub });
            return { content: [{ type: 'text', text: `stored note ${notes.length}` }] };
        }
    );
    return server;
}

function installRoutes(resource) {
    const jwks = createRemoteJWKSet(new URL(JWKS_URL));
    const verifier = {
        async verifyAccessToken(token) {
            // The middleware answers 401 only for the SDK's InvalidTokenError: anything else
            // thrown here (jose's own errors included) becomes a 500 server_error.
            const { payload } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: resource.href }).catch(error => {
                throw new InvalidTokenError(`invalid token: ${error.message}`);
            });
            // As in the SDK example: report the `aud` entry on this server's origin, which the
            // middleware then compares with `expectedResource`.
            const audience = [payload.aud ?? []].flat().find(aud => URL.canParse(aud) && new URL(aud).origin === resource.origin);
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

    // The SDK's router serves RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp
    // (and, always, the authorization server metadata given here at
    // /.well-known/oauth-authorization-server).
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
            resourceName: 'mcp-authz interop server (TypeScript SDK)'
        })
    );

    const auth = requireBearerAuth({
        verifier,
        requiredScopes: REQUIRED_SCOPES,
        resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource),
        expectedResource: resource
    });

    const transports = {};
    const notes = [];

    app.post(resource.pathname, auth, async (req, res) => {
        const sessionId = req.headers['mcp-session-id'];
        try {
            let transport;
            if (sessionId && transports[sessionId]) {
                transport = transports[sessionId];
            } else if (!sessionId && isInitializeRequest(req.body)) {
                transport = new StreamableHTTPServerTransport({
                    sessionIdGenerator: () => randomUUID(),
                    onsessioninitialized: id => {
                        transports[id] = transport;
                    }
                });
                transport.onclose = () => {
                    if (transport.sessionId) delete transports[transport.sessionId];
                };
                await getServer(notes).connect(transport);
            } else if (sessionId) {
                res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
                return;
            } else {
                res.status(400).json({
                    jsonrpc: '2.0',
                    error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
                    id: null
                });
                return;
            }
            await transport.handleRequest(req, res, req.body);
        } catch (error) {
            console.error('error handling MCP request:', error);
            if (!res.headersSent) {
                res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
            }
        }
    });

    // GET (server-to-client SSE stream) and DELETE (session termination).
    const sessionRequest = async (req, res) => {
        const sessionId = req.headers['mcp-session-id'];
        if (!sessionId) {
            res.status(400).send('Missing session ID');
            return;
        }
        const transport = transports[sessionId];
        if (!transport) {
            res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
            return;
        }
        await transport.handleRequest(req, res);
    };
    app.get(resource.pathname, auth, sessionRequest);
    app.delete(resource.pathname, auth, sessionRequest);
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
