// A headless MCP client on the official TypeScript SDK v2's OAuth client support
// (@modelcontextprotocol/client), speaking MCP 2026-07-28: the client under test of
// `mcp-authz test-client`.
//
//   node client.mjs [--tool NAME [--arguments JSON]] SERVER_URL
//
// The server URL is the last argument (the official conformance suite's convention). The client
// is written the way the SDK v2 guide "Authenticate a user with OAuth" (docs/clients/oauth.md)
// and its headless example (examples/oauth/client.ts) show: an OAuthClientProvider as the
// transport's authProvider; connect() throws UnauthorizedError after handing the authorization
// URL to redirectToAuthorization; the callback's `state` is compared, the whole callback query
// goes to transport.finishAuth(params) (the SDK reads `code` and `iss`), and the client
// connects again on a fresh transport. Where the guide's app waits for a browser, this client
// follows the authorization URL's redirects itself (as the headless example does) until one
// leads to its redirect URI. The protocol version is pinned: versionNegotiation
// {mode: {pin: '2026-07-28'}} (docs/protocol-versions.md "Pin an era"), so the client speaks
// 2026-07-28 or fails; it never sends `initialize`.
//
// Then it lists the tools, calls --tool if given, and prints the tool result (or the
// tools/list result) as JSON on stdout. Exit 0 on success, 1 on failure (error on stderr).
// MCP_CLIENT_TRACE=1 prints every HTTP request and response status on stderr.
//
// Deliberately not hardened beyond the SDK: what a test finds here is the SDK v2's baseline.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, IssuerMismatchError, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';

/** The protocol revision this client speaks, and nothing else. */
const PROTOCOL_VERSION = '2026-07-28';
/** Where the authorization server sends the browser back; nothing listens, the URL is only read. */
const REDIRECT_URL = 'http://127.0.0.1:8090/callback';
/** Redirects the headless user agent follows at the authorization endpoint (the SDK example's 10). */
const MAX_HOPS = 10;
/**
 * Authorization rounds (authorization request, code exchange, retry) per operation. The SDK
 * example reconnects once; the guide's simpleOAuthClient recurses without a limit; a bound
 * keeps a hostile server from looping us.
 */
const MAX_AUTHORIZATIONS = 3;

const trace = process.env.MCP_CLIENT_TRACE ? (...parts) => console.error('[trace]', ...parts) : () => {};

/** The JSON-RPC method of a request body, for the trace. */
function rpcMethod(body) {
    try {
        const message = JSON.parse(body);
        return Array.isArray(message) ? message.map(m => m.method).join(',') : message.method;
    } catch {
        return undefined;
    }
}

/**
 * The fetch given to the SDK: the platform fetch, traced when MCP_CLIENT_TRACE is set (for an
 * MCP request: the JSON-RPC method and the MCP-Protocol-Version header).
 */
async function tracedFetch(url, init = {}) {
    const method = init.method ?? 'GET';
    const headers = new Headers(init.headers);
    const auth = headers.get('authorization');
    const body = typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : '';
    const isJson = (headers.get('content-type') ?? '').includes('application/json');
    const rpc = isJson ? rpcMethod(body) : undefined;
    const version = headers.get('mcp-protocol-version');
    trace(
        `${method} ${url}${auth ? ` authorization=${auth.split(' ')[0]}…` : ''}` +
            `${rpc ? ` rpc=${rpc}` : ''}${version ? ` mcp-protocol-version=${version}` : ''}${body ? ` body=${body}` : ''}`
    );
    const response = await fetch(url, init);
    const challenge = response.headers.get('www-authenticate');
    trace(`  -> ${response.status}${challenge ? ` www-authenticate: ${challenge}` : ''}`);
    return response;
}

/**
 * The guide's `MyOAuthProvider` (docs/clients/oauth.md "Implement OAuthClientProvider"), in
 * memory: client credentials keyed by the authorization server's issuer (SEP-2352), tokens, the
 * PKCE verifier, the discovery state (so finishAuth exchanges the code at the authorization
 * server discovery resolved before the redirect), a fresh `state` per authorization request, and
 * `redirectToAuthorization` keeping the URL for the headless user agent.
 */
class HeadlessOAuthClientProvider {
    constructor(redirectUrl, clientMetadata) {
        this._redirectUrl = redirectUrl;
        this._clientMetadata = clientMetadata;
        /** Client credentials by issuer: a client_id registered with one AS is never sent to another. */
        this._credentials = new Map();
        /** The authorization URL the SDK last handed over, taken by `takeAuthorizationUrl`. */
        this._authorizationUrl = undefined;
    }

    get redirectUrl() {
        return this._redirectUrl;
    }

    get clientMetadata() {
        return this._clientMetadata;
    }

    clientInformation(ctx) {
        return ctx ? this._credentials.get(ctx.issuer) : undefined;
    }

    saveClientInformation(clientInformation, ctx) {
        if (ctx) this._credentials.set(ctx.issuer, clientInformation);
    }

    tokens() {
        return this._tokens;
    }

    saveTokens(tokens) {
        this._tokens = tokens;
    }

    /** A fresh `state` per authorization request; the SDK puts it in the URL and never checks it. */
    state() {
        this.lastState = randomUUID();
        return this.lastState;
    }

    saveDiscoveryState(state) {
        this._discovery = state;
    }

    discoveryState() {
        return this._discovery;
    }

    redirectToAuthorization(authorizationUrl) {
        this._authorizationUrl = authorizationUrl;
    }

    saveCodeVerifier(codeVerifier) {
        this._codeVerifier = codeVerifier;
    }

    codeVerifier() {
        if (!this._codeVerifier) {
            throw new Error('No code verifier saved');
        }
        return this._codeVerifier;
    }

    /** The authorization URL from the last `redirectToAuthorization`, once. */
    takeAuthorizationUrl() {
        const url = this._authorizationUrl;
        this._authorizationUrl = undefined;
        return url;
    }
}

/**
 * Plays the user agent, as the SDK's headless example does: requests the authorization URL and
 * follows redirects until one leads to the redirect URI; returns that URL's query (the callback
 * parameters). Each Location is resolved against the URL that sent it.
 */
async function followAuthorizationRedirects(authorizationUrl) {
    let url = authorizationUrl;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
        trace(`GET ${url} (user agent)`);
        const response = await fetch(url, { redirect: 'manual' });
        await response.body?.cancel();
        const location = response.headers.get('location');
        trace(`  -> ${response.status}${location ? ` location: ${location}` : ''}`);
        if (!location || response.status < 300 || response.status > 399) {
            throw new Error(`authorization endpoint answered ${response.status} without a redirect at ${url}`);
        }
        const next = new URL(location, url);
        if (next.href.startsWith(REDIRECT_URL)) {
            return next.searchParams;
        }
        url = next;
    }
    throw new Error(`no redirect to ${REDIRECT_URL} within ${MAX_HOPS} hops`);
}

/**
 * The guide's callback leg: compare `state`, then hand the whole query to `finishAuth`, which
 * checks `iss` (RFC 9207) before it reads `code` or `error` and exchanges the code. An
 * IssuerMismatchError is reported without the callback's error text, as the guide says.
 */
async function finishAuthorization(provider, transport, authorizationUrl) {
    const params = await followAuthorizationRedirects(authorizationUrl);
    if (params.get('state') !== provider.lastState) {
        throw new Error(`authorization response state ${JSON.stringify(params.get('state'))} is not the state sent, ${JSON.stringify(provider.lastState)}`);
    }
    try {
        await transport.finishAuth(params);
    } catch (error) {
        if (error instanceof IssuerMismatchError) {
            // Mix-up: the callback's error and error_description are the attacker's; never shown.
            throw new Error('Authorization failed: issuer mismatch');
        }
        throw error;
    }
}

/**
 * Runs `operation()`; when the SDK answers UnauthorizedError after handing over an
 * authorization URL, completes the authorization on `transport()` and runs it again.
 */
async function withAuthorization(provider, transport, operation) {
    for (let round = 0; ; round++) {
        try {
            return await operation();
        } catch (error) {
            const authorizationUrl = error instanceof UnauthorizedError ? provider.takeAuthorizationUrl() : undefined;
            if (authorizationUrl === undefined || round + 1 >= MAX_AUTHORIZATIONS) {
                throw error;
            }
            await finishAuthorization(provider, transport(), authorizationUrl);
        }
    }
}

function usage(message) {
    console.error(`${message}\nusage: node client.mjs [--tool NAME [--arguments JSON]] SERVER_URL`);
    process.exit(1);
}

async function main() {
    const { values, positionals } = parseArgs({
        options: { tool: { type: 'string' }, arguments: { type: 'string' } },
        allowPositionals: true
    });
    if (positionals.length === 0) usage('missing SERVER_URL');
    const serverUrl = new URL(positionals[positionals.length - 1]);
    let toolArguments = {};
    if (values.arguments !== undefined) {
        if (values.tool === undefined) usage('--arguments needs --tool');
        toolArguments = JSON.parse(values.arguments);
    }

    // The headless example's metadata, with the v1 client's public-client authentication
    // (`none`: no secret for a native app) and without `application_type`, which the guide
    // says the SDK derives from the loopback redirect URI ('native').
    const provider = new HeadlessOAuthClientProvider(REDIRECT_URL, {
        client_name: 'mcp-authz interop: TypeScript SDK v2 client',
        redirect_uris: [REDIRECT_URL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none'
    });
    const client = new Client(
        { name: 'mcp-authz-typescript-client-v2', version: '0.0.0' },
        { capabilities: {}, versionNegotiation: { mode: { pin: PROTOCOL_VERSION } } }
    );

    // As in the guide: each connection attempt gets a fresh transport with the same provider.
    let transport;
    await withAuthorization(
        provider,
        () => transport,
        async () => {
            transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: tracedFetch });
            await client.connect(transport);
        }
    );
    trace(`connected: era ${client.getProtocolEra()}, protocol ${client.getNegotiatedProtocolVersion()}`);
    try {
        const tools = await withAuthorization(provider, () => transport, () => client.listTools());
        if (values.tool === undefined) {
            console.log(JSON.stringify(tools));
            return true;
        }
        const result = await withAuthorization(provider, () => transport, () =>
            client.callTool({ name: values.tool, arguments: toolArguments })
        );
        console.log(JSON.stringify(result));
        if (result.isError) {
            console.error(`tool ${values.tool} answered an error result`);
            return false;
        }
        return true;
    } finally {
        await client.close();
    }
}

main().then(
    ok => process.exit(ok ? 0 : 1),
    error => {
        // The stack, then the error alone on the last line: a caller that keeps only the end
        // of stderr (as test-client's evidence does) still sees what went wrong.
        console.error(error?.stack ?? String(error));
        console.error(`client.mjs failed: ${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`);
        process.exit(1);
    }
);
