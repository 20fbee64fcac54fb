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
// except the client credentials scenarios (auth/client-credentials-*, the extension
// io.modelcontextprotocol/oauth-client-credentials), whose context holds a machine
// client's credentials: --grant client-credentials --client-id ID and --client-secret
// SECRET or --private-key-file FILE (the context's PEM written to a file of a fresh
// temporary folder, both readable by their owner only, removed on exit) with
// --signing-alg from the context.
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
    const dir = mkdtempSync(join(tmpdir(), "mcp-authz-cc-")); // mode 0700
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "client-key.pem");
    writeFileSync(file, context.private_key_pem, { mode: 0o600 });
    args.push("--private-key-file", file);
    if (context.signing_algorithm) args.push("--signing-alg", context.signing_algorithm);
  }
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
