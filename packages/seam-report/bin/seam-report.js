#!/usr/bin/env node
// The `seam-report` command. A committed file rather than dist/bin.js itself, so that pnpm can
// link the bin when installing the workspace, before anything is built.
import '../dist/bin.js';
