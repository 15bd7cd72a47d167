import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('public API', () => {
  it('exports the state machine, the engine, codecs, snapshot body, errors and helpers', () => {
    for (const name of [
      'QuotaDb',
      'QuotaEngine',
      'encodeClientRequest',
      'decodeClientRequest',
      'encodeInternalCommand',
      'decodeInternalCommand',
      'encodeCommand',
      'decodeCommand',
      'CLIENT_REQUEST_COMMAND_OFFSET',
      'encodeSnapshotBody',
      'decodeSnapshotBody',
      'validateConfig',
      'resolveConfig',
      'validateClientRequest',
      'validateCommand',
      'refilledBalance',
      'newOperationId',
      'ConfigError',
      'InvalidRequestError',
      'CodecError',
      'SnapshotError',
      'ApplyOrderError',
      'InvariantViolation',
      'COMMAND_KINDS',
      'RESULT_CODES',
      'RESULT_CODES_BY_KIND',
      'DEFAULT_CONFIG',
      'SubmissionError',
      'RecoveryError',
      'WalCorruptionError',
      'EngineLockedError',
      'EngineHaltedError',
      'FenceNotAppliedError',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it('does not export runtime internals or test seams', () => {
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
    ]) {
      expect(api, name).not.toHaveProperty(name);
    }
  });

  it('lists the two command kinds and eight result codes of quota-core.md', () => {
    expect(api.COMMAND_KINDS).toEqual(['create_bucket', 'debit']);
    expect(api.RESULT_CODES).toHaveLength(8);
  });
});
