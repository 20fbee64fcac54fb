// Runs `mcp-authz client` the way the conformance suite runs a client under test:
//   node client.mjs /path/to/mcp-authz <server-url>
// The suite appends the server URL as the last argument and, for some scenarios, puts
// scenario data in env MCP_CONFORMANCE_CONTEXT (JSON). This maps that data to the
// client's own options and adds nothing else the client would not get from a user:
//   --tool test-tool            the one tool every suite MCP server offers (the client
//                               must call a tool for the step-up scenario to ask for more)
//   --client-metadata-url URL   the client ID metadata document URL the suite's AS
//                               expects; used only where the AS advertises support
//   --client-id/--client-secret pre-registered credentials from the context, if any
import { spawnSync } from "node:child_process";

const [binary, url] = process.argv.slice(2);
if (!binary || !url) {
  console.error("usage: node client.mjs <path to mcp-authz> <server url>");
  process.exit(2);
}
const args = [
  "client",
  "--tool", "test-tool",
  "--client-metadata-url", "https://conformance-test.local/client-metadata.json",
];
const context = process.env.MCP_CONFORMANCE_CONTEXT;
if (context) {
  const c = JSON.parse(context);
  if (c.client_id) args.push("--client-id", c.client_id);
  if (c.client_secret) args.push("--client-secret", c.client_secret);
}
args.push("--url", url);
const r = spawnSync(binary, args, { stdio: "inherit" });
if (r.error) {
  console.error(`cannot run ${binary}: ${r.error.message}`);
  process.exit(2);
}
process.exit(r.status ?? 1);
