#!/usr/bin/env node
// The `seam-report` executable: everything is in cli.ts so that it can be tested in-process.
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
