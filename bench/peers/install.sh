#!/usr/bin/env bash
# Installs onnxruntime-node 1.30.0 into bench/peers/node_modules (git-ignored) from npm.
# ONNXRUNTIME_NODE_INSTALL=skip: the package's install script would otherwise fetch extra
# GPU binaries from outside npm; the CPU runtime ships inside the npm package itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ONNXRUNTIME_NODE_INSTALL=skip npm install --save-exact --no-audit --no-fund --prefix "$here" onnxruntime-node@1.30.0
node -e "const ort = require('$here/node_modules/onnxruntime-node'); console.log('onnxruntime-node', require('$here/node_modules/onnxruntime-node/package.json').version, 'backends', Object.keys(ort).length > 0 ? 'ok' : '?')"
