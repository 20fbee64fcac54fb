// Runs `mcp-authz client` the way the conformance suite runs a client under test:
//   node client.mjs /path/to/mcp-authz <server-url>
// The suite appends the server URL as the last argument, names the scenario in env
// MCP_CONFORMANCE_SCENARIO and, for some scenarios, puts scenario data in env
// MCP_CONFORMANCE_CONTEXT (JSON). This maps that data to the client's own options and adds
// nothing else the client would not get from a user.
//
// Authorization scenarios (auth/*) all get the same client:
//   --tool test-tool            the one tool every suite auth server offers (the client
//                               must call a tool for the step-up scenario to ask for more)
//   --client-metadata-url URL   the client ID metadata document URL the suite's AS
//                               expects; used only where the AS advertises support
//   --client-id/--client-secret pre-registered credentials from the context, if any
//   --dpop                      DPoP where the AS or the server offers it (auth/dpop,
//                               auth/dpop-nonce); the client stays Bearer elsewhere
// except the scenarios of the machine grants, whose context holds what the client
// authenticates with (any secret, key or JWT of it written to a file of a fresh temporary
// folder, both readable by their owner only, removed on exit):
//   auth/client-credentials-* (io.modelcontextprotocol/oauth-client-credentials):
//     --grant client-credentials --client-id ID and --client-secret SECRET or
//     --private-key-file FILE with --signing-alg from the context;
//   auth/enterprise-managed-authorization (io.modelcontextprotocol/enterprise-managed-
//     authorization): --grant enterprise --id-token-file FILE --idp-token-endpoint URL
//     --idp-client-id ID --client-id ID --client-secret-file FILE;
//   auth/wif-jwt-bearer (workload identity federation): --grant jwt-bearer
//     --assertion-file FILE (the context's valid_jwt) --client-id ID.
// Other scenarios test the MCP wire and tools, and their servers offer their own tools:
// the tool calls in the context (`toolCalls`), else a call of the first listed tool, as the
// suite's own example client does (arguments from TOOL_ARGUMENTS), or only a tools/list
// where the scenario's server answers nothing else (LIST_ONLY); for the schema
// preservation scenario, the listed schema handed back to its echo tool.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [binary, url] = process.argv.slice(2);
if (!binary || !url) {
  console.error("usage: node client.mjs <path to mcp-authz> <server url>");
  process.exit(2);
}
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || "{}");
const TOOL_ARGUMENTS = {
  tools_call: { a: 2, b: 3 },
  "http-invalid-tool-headers": { region: "us-west1" },
};
const LIST_ONLY = ["json-schema-ref-no-deref"];

// The fresh folder (mkdtemp: mode 0700) of the context's secrets, made at the first.
let secrets;
function secretFile(name, value) {
  if (!secrets) {
    secrets = mkdtempSync(join(tmpdir(), "mcp-authz-conformance-"));
    process.on("exit", () => rmSync(secrets, { recursive: true, force: true }));
  }
  const file = join(secrets, name);
  writeFileSync(file, value ?? "", { mode: 0o600 });
  return file;
}

function client(extra, capture = false) {
  const args = ["client", ...extra, "--url", url];
  const r = spawnSync(binary, args, { stdio: ["inherit", capture ? "pipe" : "inherit", "inherit"] });
  if (r.error) {
    console.error(`cannot run ${binary}: ${r.error.message}`);
    process.exit(2);
  }
  if (capture) process.stdout.write(r.stdout);
  return r;
}

if (scenario.startsWith("auth/client-credentials-")) {
  const args = ["--grant", "client-credentials", "--tool", "test-tool", "--client-id", context.client_id ?? ""];
  if (context.client_secret) args.push("--client-secret", context.client_secret);
  if (context.private_key_pem) {
    args.push("--private-key-file", secretFile("client-key.pem", context.private_key_pem));
    if (context.signing_algorithm) args.push("--signing-alg", context.signing_algorithm);
  }
  process.exit(client(args).status ?? 1);
}
if (scenario === "auth/enterprise-managed-authorization") {
  const args = [
    "--grant", "enterprise", "--tool", "test-tool",
    "--id-token-file", secretFile("id-token.jwt", context.idp_id_token),
    "--idp-token-endpoint", context.idp_token_endpoint ?? "",
    `--idp-client-id=${context.idp_client_id ?? ""}`,
    `--client-id=${context.client_id ?? ""}`,
    "--client-secret-file", secretFile("client-secret", context.client_secret),
  ];
  process.exit(client(args).status ?? 1);
}
if (scenario === "auth/wif-jwt-bearer") {
  const args = ["--grant", "jwt-bearer", "--tool", "test-tool", "--assertion-file", secretFile("workload.jwt", context.valid_jwt)];
  if (context.client_id) args.push(`--client-id=${context.client_id}`);
  process.exit(client(args).status ?? 1);
}
if (scenario === "" || scenario.startsWith("auth/")) {
  const args = ["--tool", "test-tool", "--dpop", "--client-metadata-url", "https://conformance-test.local/client-metadata.json"];
  if (context.client_id) args.push("--client-id", context.client_id);
  if (context.client_secret) args.push("--client-secret", context.client_secret);
  process.exit(client(args).status ?? 1);
}
if (Array.isArray(context.toolCalls)) {
  let status = 0;
  for (const call of context.toolCalls) {
    const r = client(["--tool", call.name, "--arguments", JSON.stringify(call.arguments ?? {})]);
    status ||= r.status ?? 1;
  }
  process.exit(status);
}
const listed = client([], true);
if (listed.status !== 0 || LIST_ONLY.includes(scenario)) process.exit(listed.status ?? 1);
const tools = JSON.parse(listed.stdout.toString()).tools ?? [];
if (scenario === "json-schema-2020-12-preservation") {
  // Hand the listed input schema of the focal tool back to the echo tool, unchanged.
  const focal = tools.find((t) => t.name === "json_schema_2020_12_tool");
  const schema = JSON.stringify({ schema: focal?.inputSchema ?? {} });
  process.exit(client(["--tool", "json_schema_echo", "--arguments", schema]).status ?? 1);
}
const first = tools[0]?.name;
if (!first) process.exit(0);
const args = JSON.stringify(TOOL_ARGUMENTS[scenario] ?? {});
process.exit(client(["--tool", first, "--arguments", args]).status ?? 1);
