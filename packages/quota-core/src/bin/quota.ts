#!/usr/bin/env node
import { runMain } from '../cli/cli.js';

// A reader that stops early (`quota dump <dir> | head -1`) closes the pipe: end quietly.
let stdoutOpen = true;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stdoutOpen = false;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await runMain(process.argv.slice(2), {
  stdout: (line) => {
    if (stdoutOpen) process.stdout.write(`${line}\n`);
  },
  stderr: (line) => process.stderr.write(`${line}\n`),
});
