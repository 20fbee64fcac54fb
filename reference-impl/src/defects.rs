//! Defect switches: documented mistakes real implementers make, each of which a
//! reference role can be told to commit. All are off by default. The scenario catalog
//! proves every scenario can fail by running it against a role with the matching
//! defect (`mcp-authz run --defect NAME`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

macro_rules! defects {
    ($( $variant:ident = $name:literal, $role:ident, $doc:literal; )*) => {
        /// One injectable defect.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Defect {
            $( #[doc = $doc] $variant, )*
        }

        impl Defect {
            /// Every defect, in declaration order.
            pub const ALL: &'static [Defect] = &[ $( Defect::$variant, )* ];

            /// The switch's name, as `--defect` takes it.
            pub fn name(self) -> &'static str {
                match self { $( Defect::$variant => $name, )* }
            }

            /// The role that commits it.
            pub fn role(self) -> DefectRole {
                match self { $( Defect::$variant => DefectRole::$role, )* }
            }

            /// What the defective role does.
            pub fn description(self) -> &'static str {
                match self { $( Defect::$variant => $doc, )* }
            }
        }
    };
}

/// The role a defect belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefectRole {
    /// The authorization server.
    AuthorizationServer,
    /// The MCP server.
    McpServer,
    /// The MCP client.
    Client,
}

defects! {
    // Authorization server
    AcceptPkcePlain = "accept-pkce-plain", AuthorizationServer, "accepts `code_challenge_method=plain`, and a challenge without a method as plain";
    NoPkceRequired = "no-pkce-required", AuthorizationServer, "issues codes without a `code_challenge` and then redeems them with any verifier or none";
    CodeReusable = "code-reusable", AuthorizationServer, "lets an authorization code be redeemed more than once";
    NoCodeReuseRevocation = "no-code-reuse-revocation", AuthorizationServer, "refuses a second redemption of a code but leaves the tokens of the first alive";
    NoRedirectUriBinding = "no-redirect-uri-binding", AuthorizationServer, "does not check that the token request's `redirect_uri` equals the authorization request's";
    NoRefreshRotation = "no-refresh-rotation", AuthorizationServer, "returns the same refresh token on refresh (no rotation for public clients)";
    NoReuseDetection = "no-reuse-detection", AuthorizationServer, "refuses a rotated refresh token but does not revoke its family";
    DpopAlgsNotAdvertised = "dpop-algs-not-advertised", AuthorizationServer, "binds tokens to DPoP proofs but leaves `dpop_signing_alg_values_supported` out of its metadata";
    DpopTokenNotBound = "dpop-token-not-bound", AuthorizationServer, "checks the DPoP proof of a token request, then issues a plain `Bearer` token without `cnf.jkt`";
    DpopTokenProofUnchecked = "dpop-token-proof-unchecked", AuthorizationServer, "binds tokens to the key of any DPoP proof at the token endpoint without checking it: `alg: none`, another `htm` or `htu`, an old `iat`, a replayed `jti`";
    DpopRefreshNotBound = "dpop-refresh-not-bound", AuthorizationServer, "does not bind a public client's refresh token to its DPoP key: another key, or no proof, refreshes it";
    DpopTokenProofReplayAllowed = "dpop-token-proof-replay-allowed", AuthorizationServer, "keeps no record of the DPoP proofs its token endpoint accepted: the same proof (`jti`) is accepted on another token request";
    DpopBoundClientWithoutProof = "dpop-bound-client-without-proof", AuthorizationServer, "issues Bearer tokens to a client registered with `dpop_bound_access_tokens: true` that sends no DPoP proof";
    RefreshScopeWidening = "refresh-scope-widening", AuthorizationServer, "grants any requested scope on refresh, wider than the original grant";
    RefreshNotClientBound = "refresh-not-client-bound", AuthorizationServer, "accepts a refresh token presented by another client";
    LooseRedirectMatch = "loose-redirect-match", AuthorizationServer, "matches redirect URIs by prefix instead of exactly";
    RedirectOnInvalidClient = "redirect-on-invalid-client", AuthorizationServer, "redirects to the supplied `redirect_uri` when the client or redirect URI is invalid (open redirect)";
    IgnoreResource = "ignore-resource", AuthorizationServer, "accepts any `resource` and issues tokens whose audience is the AS itself";
    NoIssParameter = "no-iss-parameter", AuthorizationServer, "omits `iss` from authorization responses while advertising it (RFC 9207)";
    NoIssOnErrorResponses = "no-iss-on-error-responses", AuthorizationServer, "sends `iss` with authorization codes but not with error responses (`access_denied`, `invalid_scope`, ...), while advertising it (RFC 9207)";
    IssNotAdvertised = "iss-not-advertised", AuthorizationServer, "sends `iss` in authorization responses but leaves `authorization_response_iss_parameter_supported` out of its metadata";
    Redirect307AfterLogin = "redirect-307-after-login", AuthorizationServer, "answers the login/consent POST with 307, which re-posts the credentials";
    NoFrameProtection = "no-frame-protection", AuthorizationServer, "serves the consent page without `X-Frame-Options`/`frame-ancestors`";
    CodeNotClientBound = "code-not-client-bound", AuthorizationServer, "redeems an authorization code for whichever client presents it, not only the client it was issued to";
    PkceVerifierIgnored = "pkce-verifier-ignored", AuthorizationServer, "requires a `code_verifier` at the token endpoint but accepts any value";
    CodeNoExpiry = "code-no-expiry", AuthorizationServer, "redeems authorization codes however old they are";
    TokenRequestScopeWidening = "token-request-scope-widening", AuthorizationServer, "grants the `scope` of the authorization code token request instead of the scope authorized";
    RegistrationScopeUnchecked = "registration-scope-unchecked", AuthorizationServer, "gives dynamically registered clients every scope they register, beyond the registration policy";
    ClientScopeUnchecked = "client-scope-unchecked", AuthorizationServer, "grants any scope the resource offers, whatever scopes the client may have";
    TokenResponseCacheable = "token-response-cacheable", AuthorizationServer, "sends token responses without `Cache-Control: no-store`";
    LongLivedAccessTokens = "long-lived-access-tokens", AuthorizationServer, "issues access tokens valid for 30 days";
    PasswordGrant = "password-grant", AuthorizationServer, "accepts `grant_type=password` (resource owner password credentials, removed in OAuth 2.1)";
    MetadataIssuerMismatch = "metadata-issuer-mismatch", AuthorizationServer, "publishes metadata whose `issuer` ends with a `/` the issuer identifier does not have";
    MetadataWithoutS256 = "metadata-without-s256", AuthorizationServer, "leaves `code_challenge_methods_supported` out of its metadata";
    RegistrationUnvalidated = "registration-unvalidated", AuthorizationServer, "registers client metadata as sent: `javascript:`, `data:` and plain-http redirect URIs, fragments, the implicit grant";
    IntrospectionUnauthenticated = "introspection-unauthenticated", AuthorizationServer, "answers token introspection (RFC 7662) for anyone, without client authentication";
    JwksPrivateKey = "jwks-private-key", AuthorizationServer, "publishes the private member `d` of its signing key in its JWK Set";
    RegistrationUnthrottled = "registration-unthrottled", AuthorizationServer, "takes any number of dynamic registrations at any rate: no 429, no cap on the clients it keeps";
    ClientCredentialsMetadataIncomplete = "client-credentials-metadata-incomplete", AuthorizationServer, "advertises the `client_credentials` grant with `token_endpoint_auth_methods_supported` of `none` and `client_secret_post` only (neither `private_key_jwt` nor `client_secret_basic`) and no `token_endpoint_auth_signing_alg_values_supported`";
    AssertionSignatureUnchecked = "assertion-signature-unchecked", AuthorizationServer, "reads the claims of a `private_key_jwt` client assertion without verifying its signature";
    AssertionAudienceUnchecked = "assertion-audience-unchecked", AuthorizationServer, "accepts a `private_key_jwt` client assertion whatever its `aud`";
    AssertionExpiryUnchecked = "assertion-expiry-unchecked", AuthorizationServer, "accepts an expired `private_key_jwt` client assertion";
    // Authorization server: the JWT bearer grant (enterprise-managed authorization, workload identity federation)
    IdJagSignatureUnchecked = "id-jag-signature-unchecked", AuthorizationServer, "reads the claims of an ID-JAG without verifying its signature: `alg: none` and keys its IdP does not hold are taken";
    IdJagTypUnchecked = "id-jag-typ-unchecked", AuthorizationServer, "takes an ID-JAG whatever its `typ` header (absent, `JWT`), not only `oauth-id-jag+jwt`";
    IdJagClaimsUnchecked = "id-jag-claims-unchecked", AuthorizationServer, "takes an ID-JAG without `sub` or without `exp` (the token's subject is then the client)";
    IdJagAudienceUnchecked = "id-jag-audience-unchecked", AuthorizationServer, "takes an ID-JAG whatever its `aud`, not only its own issuer identifier";
    IdJagResourceUnchecked = "id-jag-resource-unchecked", AuthorizationServer, "takes an ID-JAG whose `resource` is not one of its resources, and issues a token for it";
    IdJagClientUnchecked = "id-jag-client-unchecked", AuthorizationServer, "takes an ID-JAG whose `client_id` names another client than the one that authenticated";
    IdJagExpiryUnchecked = "id-jag-expiry-unchecked", AuthorizationServer, "takes an expired ID-JAG";
    IdJagReplayAllowed = "id-jag-replay-allowed", AuthorizationServer, "keeps no record of the ID-JAGs it took: the same one (`jti`) buys a token again";
    IdJagScopeNotIntersected = "id-jag-scope-not-intersected", AuthorizationServer, "grants the scopes the token request asks for (those its client may have), beyond the ID-JAG's `scope`";
    IdJagTokenAudienceIssuer = "id-jag-token-audience-issuer", AuthorizationServer, "issues the access token of an ID-JAG with its own issuer as audience, not the ID-JAG's `resource`";
    WorkloadAudienceUnchecked = "workload-audience-unchecked", AuthorizationServer, "takes a workload JWT whatever its `aud`, not only its token endpoint or issuer";
    WorkloadExpiryUnchecked = "workload-expiry-unchecked", AuthorizationServer, "takes an expired workload JWT";
    JwtBearerNotAdvertised = "jwt-bearer-not-advertised", AuthorizationServer, "takes the JWT bearer grant but leaves `urn:ietf:params:oauth:grant-type:jwt-bearer` out of `grant_types_supported` (and the ID-JAG profile out of `authorization_grant_profiles_supported`)";
    // MCP server
    SkipAudienceCheck = "skip-audience-check", McpServer, "accepts tokens whatever their `aud`";
    ScopeCheckAtConnectOnly = "scope-check-at-connect-only", McpServer, "checks scopes at `initialize` only, not on each `tools/call`";
    AcceptQueryToken = "accept-query-token", McpServer, "accepts an access token from the `access_token` query parameter";
    AcceptAlgNone = "accept-alg-none", McpServer, "accepts unsigned tokens (`alg: none`)";
    HmacKeyConfusion = "hmac-key-confusion", McpServer, "verifies HS256 tokens with the public key bytes as HMAC secret";
    NoExpRequired = "no-exp-required", McpServer, "accepts tokens without `exp` and expired ones";
    NoTypCheck = "no-typ-check", McpServer, "accepts tokens whose `typ` is not `at+jwt`";
    NoIssuerCheck = "no-issuer-check", McpServer, "accepts any `iss` as long as the signature verifies";
    SessionNotBound = "session-not-bound", McpServer, "serves a session to whichever principal presents its id";
    SessionAsAuthentication = "session-as-authentication", McpServer, "accepts requests with a valid session id and no token";
    TokenPassthrough = "token-passthrough", McpServer, "forwards the caller's token to the downstream API";
    JwksRefetchEveryUnknownKid = "jwks-refetch-every-unknown-kid", McpServer, "refetches the JWKS for every unknown `kid`, without a rate limit";
    ServerErrorOnBadToken = "500-on-bad-token", McpServer, "answers a malformed token or `Authorization` header with HTTP 500";
    NoOriginCheck = "no-origin-check", McpServer, "serves requests with a foreign `Origin`";
    NoSignatureCheck = "no-signature-check", McpServer, "decodes tokens without verifying the signature";
    PrmWrongResource = "prm-wrong-resource", McpServer, "publishes protected resource metadata whose `resource` drops the path (the origin only)";
    ChallengeWithoutScope = "challenge-without-scope", McpServer, "sends 401 challenges without the `scope` the request needs";
    ChallengeWithoutResourceMetadata = "challenge-without-resource-metadata", McpServer, "sends 401 challenges without `resource_metadata` and serves no well-known metadata";
    BatchSkipsScopeCheck = "batch-skips-scope-check", McpServer, "accepts JSON-RPC batches and checks the scope of the first call only";
    PredictableSessionId = "predictable-session-id", McpServer, "numbers sessions sequentially instead of drawing ids from a CSPRNG";
    ScopeCaseInsensitive = "scope-case-insensitive", McpServer, "compares scope strings case-insensitively (`MCP:WRITE` grants `mcp:write`)";
    ModernHeadersUnchecked = "modern-headers-unchecked", McpServer, "serves 2026-07-28 requests whose `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` header is missing or disagrees with the body";
    ModernMetaUnchecked = "modern-meta-unchecked", McpServer, "serves 2026-07-28 requests whose `_meta` lacks the protocol version or the client capabilities";
    AnyProtocolVersion = "any-protocol-version", McpServer, "serves a 2026-07-28-style request whatever protocol version it names, never answering `-32022`";
    OfflineAccessAdvertised = "offline-access-advertised", McpServer, "lists `offline_access` in its protected resource metadata's `scopes_supported` and in the `scope` of its 401 challenges";
    InitializeErrorNamesNoVersion = "initialize-error-names-no-version", McpServer, "speaking only 2026-07-28, refuses a legacy `initialize` with a bare 400 `-32600` that names no protocol version";
    LegacyTransportNotRefused = "legacy-transport-not-refused", McpServer, "speaking only 2026-07-28, still answers DELETE as a session server would (404, not 405) and echoes a request's `Mcp-Session-Id`";
    RetiredErrorCodes = "retired-error-codes", McpServer, "answers a 2026-07-28 `resources/read` of a resource it does not have with `-32002` (resource not found), a code 2026-07-28 retired";
    StateHandleNotBound = "state-handle-not-bound", McpServer, "serves a state handle (`cart_show`'s `cart`) to whichever principal presents it, not only to the one that opened it";
    PredictableStateHandle = "predictable-state-handle", McpServer, "numbers state handles sequentially (`cart-1`, `cart-2`) instead of drawing them from a CSPRNG";
    ChallengeNamesOneScope = "challenge-names-one-scope", McpServer, "names only the first scope a call lacks in its 403 `insufficient_scope`, though the call needs more";
    UndeclaredCapabilityUsed = "undeclared-capability-used", McpServer, "asks a 2026-07-28 client for elicitation (an `input_required` result) though the client did not declare the capability, instead of `-32021`";
    NoServerDiscover = "no-server-discover", McpServer, "has no `server/discover`, answers unknown 2026-07-28 methods with HTTP 200 and omits `resultType`";
    ChallengeWithoutErrorCode = "challenge-without-error-code", McpServer, "refuses a bad token with 401 and a challenge that names no `error` (no `invalid_token`)";
    ScopeHierarchyIgnored = "scope-hierarchy-ignored", McpServer, "ignores its own scope hierarchy: a token with the broader scope (`mcp:admin`) is refused a tool needing a scope it implies (`mcp:read`)";
    RequestStateUnverified = "request-state-unverified", McpServer, "reads the `requestState` a client echoes without checking its integrity tag, so a tampered state is acted on";
    RequestStateNotBound = "request-state-not-bound", McpServer, "accepts a `requestState` minted for another principal";
    ToolsListGrowsWithCalls = "tools-list-grows-with-calls", McpServer, "lists only `echo` on a connection until a `tools/call` is made on it, then every tool: `tools/list` varies per connection and with other requests on it";
    PublicListGrantsAccess = "public-list-grants-access", McpServer, "lets any valid token call the tools of its `public` `tools/list` on 2026-07-28 requests, whatever their scope (access control by `cacheScope`)";
    CallerFromEarlierRequest = "caller-from-earlier-request", McpServer, "serves a request without a valid token, on the connection of the last authorized request, as that request's caller (a connection's identity kept)";
    ScopeFromMcpName = "scope-from-mcp-name", McpServer, "checks a legacy `tools/call` against the scope of the tool its `Mcp-Name` header names, not the tool in the body (a gateway trusting unvalidated headers)";
    DpopProofNotRequired = "dpop-proof-not-required", McpServer, "accepts a DPoP-bound token sent with `Authorization: DPoP` but no `DPoP` proof header";
    DpopHtmUnchecked = "dpop-htm-unchecked", McpServer, "accepts a DPoP proof whose `htm` names another HTTP method than the request's";
    DpopHtuUnchecked = "dpop-htu-unchecked", McpServer, "accepts a DPoP proof whose `htu` names another URL than the request's";
    DpopIatUnchecked = "dpop-iat-unchecked", McpServer, "accepts a DPoP proof whatever its `iat`, however old or far ahead";
    DpopJtiReplayAllowed = "dpop-jti-replay-allowed", McpServer, "keeps no record of DPoP proofs: the same proof (`jti`) is accepted again";
    DpopAthUnchecked = "dpop-ath-unchecked", McpServer, "accepts a DPoP proof whose `ath` is not the hash of the access token presented with it";
    DpopJktUnchecked = "dpop-jkt-unchecked", McpServer, "accepts a DPoP proof signed by any key, not only the one the token's `cnf.jkt` names";
    DpopBoundTokenAsBearer = "dpop-bound-token-as-bearer", McpServer, "accepts a DPoP-bound token (`cnf.jkt`) presented as `Authorization: Bearer`, without a proof";
    DpopAlgNoneAccepted = "dpop-alg-none-accepted", McpServer, "takes a DPoP proof's `alg` at its word: `none` goes unverified, HS256 is verified with the `k` its header carries";
    DpopNonceUnchecked = "dpop-nonce-unchecked", McpServer, "hands out DPoP nonces (`DPoP-Nonce`) but accepts proofs without one or with one it never issued";
    DpopNonceNeverStale = "dpop-nonce-never-stale", McpServer, "never lets a DPoP nonce it handed out go stale: a nonce from long past its lifetime is still accepted";
    // Client
    NoStateCheck = "no-state-check", Client, "does not compare `state` in the authorization response";
    ClientNoIssuerCheck = "client-no-issuer-check", Client, "uses AS metadata whose `issuer` differs from the issuer it was fetched for";
    ClientNoResourceParam = "client-no-resource-param", Client, "omits `resource` from authorization, token and refresh requests";
    ResourceTrailingSlash = "resource-trailing-slash", Client, "sends the server's URI with a trailing slash added as `resource` (`https://mcp.example/mcp/`)";
    ClientNoPrmResourceCheck = "client-no-prm-resource-check", Client, "follows protected resource metadata whose `resource` is another server";
    ClientPrmResourcePrefix = "client-prm-resource-prefix", Client, "accepts protected resource metadata whose `resource` is the server URL's origin or a parent path of it (a prefix match, not RFC 9728's identity)";
    ClientNoPkceCheck = "client-no-pkce-check", Client, "proceeds with an AS whose metadata does not list S256";
    ClientNoIssCheck = "client-no-iss-check", Client, "ignores the RFC 9207 `iss` of the authorization response";
    ClientIssUnadvertisedIgnored = "client-iss-unadvertised-ignored", Client, "ignores the `iss` of an authorization response when the AS metadata does not advertise `authorization_response_iss_parameter_supported`";
    ClientIssNormalized = "client-iss-normalized", Client, "compares `iss` with the issuer after URL normalization: scheme and host case, default port, trailing slash, percent-encoding";
    ClientErrorBeforeIssCheck = "client-error-before-iss-check", Client, "reports an authorization error response (`error`, `error_description`) before checking its `iss`, so another issuer's error is shown";
    ClientTokenToAnyServer = "client-token-to-any-server", Client, "sends its access token to any server it talks to";
    ClientUnboundedStepUp = "client-unbounded-step-up", Client, "re-authorizes on every `insufficient_scope`, without a limit";
    ClientStepUpIgnoresScope = "client-step-up-ignores-scope", Client, "re-authorizes on `insufficient_scope` with the scope it already has, ignoring the challenged one";
    ClientStepUpChallengedScopeOnly = "client-step-up-challenged-scope-only", Client, "re-authorizes on `insufficient_scope` with the challenged scope only, dropping the scopes it requested and was granted before";
    ClientNoDiscoveryOrder = "client-no-discovery-order", Client, "ignores the challenge's `resource_metadata` and probes the root well-known URLs first, for protected resource and authorization server metadata";
    ClientNaiveChallengeParsing = "client-naive-challenge-parsing", Client, "reads only the first `WWW-Authenticate` header, and only if it starts with `Bearer `, splitting on commas and `=` without quoted-string rules";
    ClientPrefersScopesSupported = "client-prefers-scopes-supported", Client, "requests the protected resource metadata's `scopes_supported` instead of the scope the challenge names";
    ClientIgnoresCimd = "client-ignores-cimd", Client, "registers dynamically even when the AS accepts its client ID metadata document";
    ClientOauthMetadataOnly = "client-oauth-metadata-only", Client, "probes only the RFC 8414 metadata URLs, never OpenID Connect Discovery";
    ClientPkcePlain = "client-pkce-plain", Client, "sends `code_challenge_method=plain` (the verifier itself as challenge) instead of S256";
    ClientFollowsRedirects = "client-follows-redirects", Client, "follows 3xx answers to metadata requests, to any `Location`, unchecked";
    ClientFollowsInsecureUrls = "client-follows-insecure-urls", Client, "fetches and opens any absolute URL a server names: `http` to any host, `javascript:`, `file:`, `data:`";
    ClientCredentialsReusedAcrossAs = "client-credentials-reused-across-as", Client, "presents the client id (and secret) it obtained at one authorization server to another the protected resource metadata names, instead of registering there";
    ClientNoApplicationType = "client-no-application-type", Client, "registers dynamically without `application_type` (an OpenID Connect server then assumes `web`)";
    ClientApplicationTypeWeb = "client-application-type-web", Client, "registers dynamically with `application_type` `web` whatever its redirect URI, loopback included";
    ClientNoRefreshGrantType = "client-no-refresh-grant-type", Client, "registers dynamically with `grant_types` `[\"authorization_code\"]`, without `refresh_token`";
    ClientAssumesRefreshToken = "client-assumes-refresh-token", Client, "stops with an error when its access token has expired, or is refused with 401, and it holds no refresh token, instead of authorizing again";
    ClientRetriesRegistration = "client-retries-registration", Client, "sends the same dynamic registration again whenever the AS refuses it, without end";
    ClientInventedClientId = "client-invented-client-id", Client, "skips registration and sends a fixed `client_id` of its own making (`mcp-client`), one no authorization server issued";
    ClientPreRegisteredAnyAs = "client-pre-registered-any-as", Client, "uses its pre-registered client id and secret at whichever authorization server the protected resource metadata names, not only at the one they were registered with";
    ClientCacheSharedAcrossTokens = "client-cache-shared-across-tokens", Client, "keeps one `tools/list` cache whatever the access token: a `private` result fetched with one token is served to a request made with another";
    ClientModernHeadersMissing = "client-modern-headers-missing", Client, "sends 2026-07-28 requests without the `Mcp-Method` and `Mcp-Name` headers (only `MCP-Protocol-Version`)";
    ClientVersionRetryUnbounded = "client-version-retry-unbounded", Client, "answers every `-32022` whose `supported` lists the version it sent by sending the request again, without limit";
    ClientFallsBackOnAny4xx = "client-falls-back-on-any-4xx", Client, "falls back to the legacy `initialize` handshake on any 4xx to its first 2026-07-28 request, even one whose body is a modern JSON-RPC error";
    ClientEraNotCached = "client-era-not-cached", Client, "sends every operation in the 2026-07-28 form first, even to an origin that showed itself legacy";
    ClientDpopProofReused = "client-dpop-proof-reused", Client, "sends the same DPoP proof (one `jti`) with every request to an MCP server instead of a fresh one";
    ClientDpopProofAcrossServers = "client-dpop-proof-across-servers", Client, "sends the DPoP proof it made for one MCP server (its `htu`, its `jti`) with its first request to the next server it talks to";
    ClientDpopNoAth = "client-dpop-no-ath", Client, "leaves `ath` (the access token's hash) out of the DPoP proofs it sends to MCP servers";
    ClientDpopNonceIgnored = "client-dpop-nonce-ignored", Client, "ignores `DPoP-Nonce`: a `use_dpop_nonce` answer is not retried, and its proofs never carry a nonce";
    ClientDpopRefreshWithoutProof = "client-dpop-refresh-without-proof", Client, "sends a DPoP proof with its authorization code exchange but none with its refresh requests";
    ClientCcUnauthenticated = "client-cc-unauthenticated", Client, "configured for the client credentials grant, sends its token request with `client_id` in the body and neither a secret nor a `private_key_jwt` assertion";
    ClientCcAssertionWrongAudience = "client-cc-assertion-wrong-audience", Client, "signs its `private_key_jwt` client assertions for the client credentials grant with `aud` the MCP server's resource identifier, not its authorization server";
    ClientEmaAudienceResource = "client-ema-audience-resource", Client, "asks the enterprise IdP for an ID-JAG with `audience` the MCP server's resource identifier instead of its authorization server's issuer";
    ClientEmaWrongGrant = "client-ema-wrong-grant", Client, "presents the ID-JAG to the authorization server by token exchange (`subject_token`) instead of as the `assertion` of the JWT bearer grant";
    ClientWifNoResource = "client-wif-no-resource", Client, "leaves `resource` out of the JWT bearer grant it sends with its workload JWT";
    ClientResultTypeUnchecked = "client-result-type-unchecked", Client, "reads a 2026-07-28 result whatever its `resultType`: an unknown value as `complete`";
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Defect {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Defect::ALL.iter().copied().find(|d| d.name() == s).ok_or_else(|| {
            crate::Error::unexpected("defect", format!("`{s}`"), "a name listed by `mcp-authz defects`")
        })
    }
}

/// A set of injected defects (empty: the role is correct).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defects(BTreeSet<Defect>);

impl Defects {
    /// No defects.
    pub fn none() -> Self {
        Defects::default()
    }

    /// Exactly these defects.
    pub fn of(defects: impl IntoIterator<Item = Defect>) -> Self {
        Defects(defects.into_iter().collect())
    }

    /// True when `d` is injected.
    pub fn has(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }

    /// Injects `d`.
    pub fn insert(&mut self, d: Defect) {
        self.0.insert(d);
    }

    /// The injected defects, in order.
    pub fn iter(&self) -> impl Iterator<Item = Defect> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = BTreeSet::new();
        for d in Defect::ALL {
            assert_eq!(d.name().parse::<Defect>().unwrap(), *d);
            assert!(seen.insert(d.name()), "duplicate {d}");
        }
        assert!("no-such-defect".parse::<Defect>().is_err());
    }
}
