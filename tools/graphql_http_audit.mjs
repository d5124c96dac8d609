// Runs the GraphQL-over-HTTP conformance audit of the `graphql-http` npm package against a
// served Portico and prints every result. Node is not part of Portico or its CI: install the
// package in a directory of your choice and run this script from there (see the README,
// "Checking conformance with GraphQL over HTTP").
//
//   node tools/graphql_http_audit.mjs [URL] [--header "Name: value" ...]
//
// URL defaults to http://127.0.0.1:8000/graphql. Each --header is added to every request the
// audit makes (e.g. "Authorization: Bearer pts_...", to audit as a logged-in principal).
//
// Exit status: 0 when every MUST and SHOULD audit passes, 1 otherwise, 2 when the package
// cannot be found or the server cannot be reached within 30 seconds.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

let url = "http://127.0.0.1:8000/graphql";
const extraHeaders = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === "--header") {
    const [name, ...value] = (args[(i += 1)] ?? "").split(":");
    if (!name.trim() || !value.length) {
      console.error('--header takes "Name: value"');
      process.exit(2);
    }
    extraHeaders.push([name.trim(), value.join(":").trim()]);
  } else {
    url = args[i];
  }
}

// The audit's own headers win over ours (it sets the Accept and Content-Type it tests).
function fetchWithHeaders(input, init = {}) {
  const headers = new Headers(init.headers);
  for (const [name, value] of extraHeaders) {
    if (!headers.has(name)) headers.set(name, value);
  }
  return fetch(input, { ...init, headers });
}

// Resolved from the working directory, not from this file: the package lives outside the
// repository, in the directory where it was installed.
const require = createRequire(pathToFileURL(`${process.cwd()}/`));
let auditServer;
try {
  ({ auditServer } = require("graphql-http"));
} catch {
  console.error(
    "graphql-http is not installed here: run `npm install graphql-http` in this directory first.",
  );
  process.exit(2);
}

// A server started just before this script may still be starting: give it 30 seconds.
for (let attempt = 1; ; attempt += 1) {
  try {
    await fetchWithHeaders(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    break;
  } catch (error) {
    if (attempt === 30) {
      console.error(`Cannot reach ${url}: ${error.cause?.message ?? error.message}`);
      process.exit(2);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const results = await auditServer({ url, fetchFn: fetchWithHeaders });
const counts = {};
let failed = 0;
for (const result of results) {
  const level = result.name.split(" ")[0];
  counts[`${level} ${result.status}`] = (counts[`${level} ${result.status}`] ?? 0) + 1;
  console.log(`${result.status.padEnd(6)} ${result.id}  ${result.name}`);
  if (result.status === "ok") continue;
  if (level !== "MAY") failed += 1;
  console.log(`       reason: ${result.reason}`);
  const response = result.response;
  if (response) {
    let body = "";
    try {
      body = (await response.clone().text()).slice(0, 300);
    } catch {
      body = "(body already read by the audit)";
    }
    console.log(`       HTTP ${response.status} ${response.headers.get("content-type") ?? ""}`);
    console.log(`       body: ${body}`);
  }
}
console.log("");
console.log(
  Object.entries(counts)
    .sort()
    .map(([key, n]) => `${key}: ${n}`)
    .join(", "),
);
process.exit(failed ? 1 : 0);
