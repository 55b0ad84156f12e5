#!/usr/bin/env node
// A stand-in for the native `solc` executable, backed by solc-js (npm `solc`), for py-solc-x.
//
// Supports just what solcx.compile_standard needs:
//   --version                      prints "Version: <x.y.z+commit.hash.platform>" like solc
//   --standard-json                reads the JSON input on stdin, writes the JSON output to stdout
//   --base-path DIR                where relative source unit names are looked up
//   --allow-paths, --include-path  accepted; imports are confined to the base path and node_modules
// Imports such as "@openzeppelin/contracts/..." resolve from the nearest node_modules folder.
// Like native solc, compiler errors go into the JSON output with exit status 0; only a failure to
// run at all exits non-zero with a message on stderr.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function fail(message) {
  process.stderr.write(message + "\n");
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--base-path") opts.basePath = argv[++i];
    else if (arg === "--allow-paths" || arg === "--include-path") i += 1;
    else fail(`unrecognised option '${arg}'`);
  }
  return opts;
}

function inside(parent, child) {
  const rel = path.relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function nodeModulesDirs(start) {
  const dirs = [];
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    dirs.push(path.join(dir, "node_modules"));
    if (path.dirname(dir) === dir) return dirs;
  }
}

function makeImportCallback(basePath) {
  const roots = [];
  if (basePath) roots.push(path.resolve(basePath));
  roots.push(...nodeModulesDirs(basePath || process.cwd()), ...nodeModulesDirs(__dirname));
  return (unitName) => {
    if (path.isAbsolute(unitName)) return { error: `absolute import refused: ${unitName}` };
    for (const root of roots) {
      const candidate = path.resolve(root, unitName);
      if (inside(root, candidate) && fs.existsSync(candidate)) {
        return { contents: fs.readFileSync(candidate, "utf8") };
      }
    }
    return { error: `File not found: ${unitName}` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let solc;
  try {
    solc = require("solc");
  } catch (err) {
    fail(`cannot load solc-js (run \`npm ci\` at the repository root): ${err.message}`);
  }
  if (opts.version) {
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`,
    );
    return;
  }
  if (!opts.standardJson) fail("only --version and --standard-json are supported");
  const input = fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: makeImportCallback(opts.basePath) });
  process.stdout.write(output + "\n");
}

main();
