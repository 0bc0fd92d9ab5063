// Compile orbitstore/anchoring/contracts/Anchor.sol with the pinned solc-js and
// print the artifact JSON (the committed Anchor.json is this output, verbatim).
// Usage: node tools/anvil/compile-anchor.js [path/to/Anchor.sol] > Anchor.json
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const source = process.argv[2] || path.join(__dirname, "..", "..", "orbitstore", "anchoring", "contracts", "Anchor.sol");
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none", appendCBOR: false },
  outputSelection: { "Anchor.sol": { Anchor: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
const input = { language: "Solidity", sources: { "Anchor.sol": { content: fs.readFileSync(source, "utf8") } }, settings };
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) process.stderr.write(e.formattedMessage + "\n");
  process.exit(1);
}
const contract = output.contracts["Anchor.sol"].Anchor;
const artifact = {
  contractName: "Anchor",
  compiler: { name: "solc-js", version: solc.version() },
  settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion, metadata: settings.metadata },
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
  deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
};
process.stdout.write(JSON.stringify(artifact, null, 2) + "\n");
