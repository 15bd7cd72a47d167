#!/usr/bin/env node
// The `quota` command. A committed file rather than dist/bin/quota.js itself, so that pnpm can
// link the bin when installing the workspace, before anything is built (see docs/packaging.md).
import '../dist/bin/quota.js';
