// A headless MCP client on the official TypeScript SDK's OAuth client support, the client
// under test of `mcp-authz test-client`.
//
//   node client.mjs [--tool NAME [--arguments JSON]] SERVER_URL
//
// The server URL is the last argument (the official conformance suite's convention). The client
// connects with StreamableHTTPClientTransport and an in-memory OAuthClientProvider, as the SDK's
// example (src/examples/client/simpleOAuthClient.ts) does; where the example prints the
// authorization URL for a person, this provider fetches it itself and follows the redirects to
// its redirect URI. Then it lists the tools, calls --tool if given, and prints the tool result
// (or the tools/list result) as JSON on stdout. Exit 0 on success, 1 on failure (error on
// stderr). MCP_CLIENT_TRACE=1 prints every HTTP request and response status on stderr.
//
// Deliberately not hardened beyond the SDK: what a test finds here is the SDK's baseline.

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

/** Where the authorization server sends the browser back; nothing listens, the URL is only read. */
const REDIRECT_URL = 'http://127.0.0.1:8090/callback';
/** Redirects the headless user agent follows at the authorization endpoint. */
const MAX_HOPS = 10;
/**
 * Authorization rounds (authorization request, code exchange, retry) per operation. The SDK
 * example retries connecting without a limit; a bound keeps a hostile server from looping us.
 */
const MAX_AUTHORIZATIONS = 3;

const trace = process.env.MCP_CLIENT_TRACE ? (...parts) => console.error('[trace]', ...parts) : () => {};

/** The fetch given to the SDK: the platform fetch, traced when MCP_CLIENT_TRACE is set. */
async function tracedFetch(url, init = {}) {
    const method = init.method ?? 'GET';
    const headers = new Headers(init.headers);
    const auth = headers.get('authorization');
    const body = typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : '';
    trace(`${method} ${url}${auth ? ` authorization=${auth.split(' ')[0]}…` : ''}${body ? ` body=${body}` : ''}`);
    const response = await fetch(url, init);
    const challenge = response.headers.get('www-authenticate');
    trace(`  -> ${response.status}${challenge ? ` www-authenticate: ${challenge}` : ''}`);
    return response;
}

/**
 * An in-memory OAuthClientProvider, as the SDK example's InMemoryOAuthClientProvider, plus
 * `state()` and a headless `redirectToAuthorization`.
 */
class HeadlessOAuthClientProvider {
    constructor(redirectUrl, clientMetadata) {
        this._redirectUrl = redirectUrl;
        this._clientMetadata = clientMetadata;
        /** The code of the last authorization response, taken by `takeAuthorizationCode`. */
        this._authorizationCode = undefined;
    }

    get redirectUrl() {
        return this._redirectUrl;
    }

    get clientMetadata() {
        return this._clientMetadata;
    }

    clientInformation() {
        return this._clientInformation;
    }

    saveClientInformation(clientInformation) {
        this._clientInformation = clientInformation;
    }

    tokens() {
        return this._tokens;
    }

    saveTokens(tokens) {
        this._tokens = tokens;
    }

    /** A fresh `state` for each authorization request; the SDK puts it in the URL, checking it is ours. */
    state() {
        this._state = randomBytes(16).toString('base64url');
        return this._state;
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

    /**
     * Plays the user agent: requests the authorization URL and follows redirects until one
     * leads to the redirect URI, whose `code` is kept for `transport.finishAuth`.
     */
    async redirectToAuthorization(authorizationUrl) {
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
            if (next.href.startsWith(this._redirectUrl)) {
                const params = next.searchParams;
                if (params.get('state') !== this._state) {
                    throw new Error(`authorization response state ${JSON.stringify(params.get('state'))} is not the state sent, ${JSON.stringify(this._state)}`);
                }
                if (params.has('error')) {
                    throw new Error(`authorization refused: ${params.get('error')} ${params.get('error_description') ?? ''}`.trim());
                }
                const code = params.get('code');
                if (!code) {
                    throw new Error(`authorization response without a code: ${next.href}`);
                }
                this._authorizationCode = code;
                return;
            }
            url = next;
        }
        throw new Error(`no redirect to ${this._redirectUrl} within ${MAX_HOPS} hops`);
    }

    /** The code from the last authorization response, once. */
    takeAuthorizationCode() {
        const code = this._authorizationCode;
        this._authorizationCode = undefined;
        return code;
    }
}

/**
 * Runs `operation(transport)`; when the SDK answers UnauthorizedError after sending the user
 * agent to authorize, exchanges the code with `transport.finishAuth` and runs it again, as the
 * SDK example does after its callback.
 */
async function withAuthorization(provider, transport, operation) {
    for (let round = 0; ; round++) {
        try {
            return await operation();
        } catch (error) {
            const code = error instanceof UnauthorizedError ? provider.takeAuthorizationCode() : undefined;
            if (code === undefined || round + 1 >= MAX_AUTHORIZATIONS) {
                throw error;
            }
            await transport().finishAuth(code);
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

    const provider = new HeadlessOAuthClientProvider(REDIRECT_URL, {
        client_name: 'mcp-authz interop: TypeScript SDK client',
        redirect_uris: [REDIRECT_URL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none'
    });
    const client = new Client({ name: 'mcp-authz-typescript-client', version: '0.0.0' }, { capabilities: {} });

    // As in the SDK example: each connection attempt gets a new transport with the same provider.
    let transport;
    await withAuthorization(
        provider,
        () => transport,
        async () => {
            transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: tracedFetch });
            await client.connect(transport);
        }
    );
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
        await transport.close();
    }
}

main().then(
    ok => process.exit(ok ? 0 : 1),
    error => {
        console.error(error?.stack ?? String(error));
        process.exit(1);
    }
);
