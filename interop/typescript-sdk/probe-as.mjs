// A throwaway authorization server for probing server.mjs by hand (used by probe.sh): an
// ES256 key, its JWKS at /jwks, and GET /mint?... answering an access token, plus
// GET /fetches answering how many times /jwks was fetched. Binds 127.0.0.1 port 0 and prints
// its issuer URL as its first stdout line.
//
// /mint parameters: aud (required), scope (default mcp:read), sub (default alice), iss,
// kid (default k1), typ (default at+jwt), exp (seconds from now, default 300), noexp=1,
// aud2 (a second audience), alg=none | alg=HS256 (HMAC keyed with the public JWK's JSON).

import { createServer } from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
const b64 = value => Buffer.from(JSON.stringify(value)).toString('base64url');
let fetches = 0;
let issuer = '';

async function mint(q) {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
        iss: q.iss ?? issuer,
        sub: q.sub ?? 'alice',
        aud: q.aud2 ? [q.aud, q.aud2] : q.aud,
        client_id: 'probe-client',
        scope: q.scope ?? 'mcp:read',
        iat: now,
        exp: now + Number(q.exp ?? 300),
        jti: randomUUID()
    };
    if (q.noexp) delete payload.exp;
    if (q.alg === 'none') return `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`;
    if (q.alg === 'HS256') {
        const input = `${b64({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })}.${b64(payload)}`;
        return `${input}.${createHmac('sha256', JSON.stringify(jwk)).update(input).digest('base64url')}`;
    }
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: q.kid ?? 'k1', typ: q.typ ?? 'at+jwt' }).sign(privateKey);
}

const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://probe');
    if (url.pathname === '/jwks') {
        fetches += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else if (url.pathname === '/fetches') {
        res.end(String(fetches));
    } else if (url.pathname === '/mint') {
        res.end(await mint(Object.fromEntries(url.searchParams)));
    } else {
        res.writeHead(404).end();
    }
});
server.listen(0, '127.0.0.1', () => {
    issuer = `http://127.0.0.1:${server.address().port}`;
    console.log(issuer);
});
process.on('SIGTERM', () => process.exit(0));
