import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('public API', () => {
  it('exports the state machine, codecs, snapshot body, errors and helpers', () => {
    for (const name of [
      'AllocDb',
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
      'validateSubmission',
      'isClientSubmittable',
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
      'AllocDbEngine',
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

  it('does not export runtime internals', () => {
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

  it('refuses client-submitted expire via isClientSubmittable', () => {
    expect(api.isClientSubmittable('expire')).toBe(false);
    expect(api.COMMAND_KINDS.filter(api.isClientSubmittable)).toHaveLength(7);
  });
});
