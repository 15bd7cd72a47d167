#!/usr/bin/env node
// The `allocdb` command. A committed file rather than dist/bin/allocdb.js itself, so that pnpm can
// link the bin when installing the workspace, before anything is built (see docs/packaging.md).
import '../dist/bin/allocdb.js';
