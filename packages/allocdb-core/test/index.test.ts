import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as codec from '../src/exports/codec.js';
import * as stateMachine from '../src/exports/state-machine.js';
import * as testing from '../src/exports/testing.js';
import * as api from '../src/index.js';

const packageRoot = join(import.meta.dirname, '..');

describe('public API', () => {
  it('the root export holds the engine, its configuration, types, helpers and errors', () => {
    for (const name of [
      'AllocDbEngine',
      'resolveConfig',
      'validateConfig',
      'newOperationId',
      'COMMAND_KINDS',
      'RESULT_CODES',
      'DEFAULT_CONFIG',
      'AllocDbError',
      'ConfigError',
      'ConfigMismatchError',
      'DataDirectoryError',
      'InvalidRequestError',
      'CodecError',
      'SnapshotError',
      'ApplyOrderError',
      'InvariantViolation',
      'RESULT_CODES_BY_KIND',
      'SubmissionError',
      'RecoveryError',
      'WalCorruptionError',
      'WalIoError',
      'WalUnavailableError',
      'SnapshotFileError',
      'ConfigFileError',
      'EngineLockedError',
      'EngineHaltedError',
      'EngineClosedError',
      'FenceNotAppliedError',
      'AssertionError',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it('the state machine and the codecs are subpath exports, not root exports', () => {
    for (const name of [
      'AllocDb',
      'validateClientRequest',
      'isClientSubmittable',
      'encodeSnapshotBody',
    ]) {
      expect(stateMachine, name).toHaveProperty(name);
      expect(api, name).not.toHaveProperty(name);
    }
    for (const name of [
      'encodeClientRequest',
      'decodeClientRequest',
      'encodeCommand',
      'CLIENT_REQUEST_COMMAND_OFFSET',
      'INTERNAL_COMMAND_OFFSET',
      'decodeSnapshotBody',
    ]) {
      expect(codec, name).toHaveProperty(name);
      expect(api, name).not.toHaveProperty(name);
    }
    expect(stateMachine.isClientSubmittable('expire')).toBe(false);
  });

  it('does not export runtime internals or test seams from the root', () => {
    for (const name of [
      'FixedMap',
      'RetireQueue',
      'hashKey',
      'crc32c',
      'Reader',
      'Writer',
      'CommitPipeline',
      'WalFile',
      'simulateCrash',
      'openEngineForTesting',
    ]) {
      expect(api, name).not.toHaveProperty(name);
    }
    expect(testing).toHaveProperty('openEngineForTesting');
    expect(testing).toHaveProperty('simulateCrash');
  });

  it('every error class the package exports extends AllocDbError', () => {
    const errorClasses = Object.entries(api).filter(
      ([name, value]) => typeof value === 'function' && name.endsWith('Error'),
    ) as [string, abstract new (...args: never[]) => Error][];
    expect(errorClasses.length).toBeGreaterThan(15);
    for (const [name, errorClass] of errorClasses) {
      expect(
        errorClass.prototype instanceof api.AllocDbError || errorClass === api.AllocDbError,
        name,
      ).toBe(true);
    }
    const error = new api.SubmissionError('overloaded', 'full');
    expect(error).toBeInstanceOf(api.AllocDbError);
    expect(error.name).toBe('SubmissionError');
    expect(error.code).toBe('overloaded');
  });

  it('the published declarations keep test seams and internal members out', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'allocdb-dts-'));
    try {
      execFileSync(
        process.execPath,
        [
          join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          join(packageRoot, 'tsconfig.build.json'),
          '--outDir',
          outDir,
          '--emitDeclarationOnly',
        ],
        { stdio: 'pipe' },
      );
      const engine = readFileSync(join(outDir, 'engine', 'engine.d.ts'), 'utf8');
      expect(engine).toContain('class AllocDbEngine');
      for (const internal of [
        'openWithSeams',
        'crashForTesting',
        'stateMachine',
        'simulateCrash',
      ]) {
        expect(engine, internal).not.toContain(internal);
      }
      const root = readFileSync(join(outDir, 'index.d.ts'), 'utf8');
      expect(root).not.toMatch(/COMMAND_OFFSET|openWithSeams|simulateCrash/);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 60_000);
});
