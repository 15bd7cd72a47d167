import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadSnapshotFile,
  SnapshotFileError,
  writeSnapshotFile,
} from '../../src/runtime/snapshot-file.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const header = { schemaVersion: 1, lastAppliedLsn: 42n, lastRequestSlot: 7n };
const options = { maxSnapshotBytes: 1 << 20 };

function written(body: Uint8Array): string {
  const path = join(tempDir(), 'snapshot');
  writeSnapshotFile(path, header, body, options);
  return path;
}

function loadError(path: string, schema = 1, limit = options.maxSnapshotBytes): SnapshotFileError {
  try {
    loadSnapshotFile(path, schema, { maxSnapshotBytes: limit });
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotFileError);
    return error as SnapshotFileError;
  }
  throw new Error('expected the load to fail');
}

describe('snapshot file', () => {
  it('round-trips header and body; a missing file is "no snapshot"', () => {
    const body = Uint8Array.from({ length: 100 }, (_, i) => i);
    const path = written(body);
    expect(loadSnapshotFile(path, 1, options)).toEqual({ header, body, fileBytes: 136 });
    expect(loadSnapshotFile(join(tempDir(), 'snapshot'), 1, options)).toBeUndefined();
  });

  it('detects a flipped bit anywhere in the file', () => {
    const path = written(Uint8Array.from({ length: 24 }, (_, i) => i * 7));
    const original = readFileSync(path);
    for (let bit = 0; bit < original.length * 8; bit++) {
      const damaged = Buffer.from(original);
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      writeFileSync(path, damaged);
      const error = loadError(path);
      expect(['length_mismatch', 'checksum']).toContain(error.reason);
      expect(error.path).toBe(path);
    }
  });

  it('checks the size bound, the length field, the CRC, the magic and the versions, in that order', () => {
    const path = written(new Uint8Array(10));
    expect(loadError(path, 1, 40).reason).toBe('too_large');
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, 20));
    expect(loadError(path).reason).toBe('truncated');
    writeFileSync(path, Buffer.concat([bytes, Buffer.of(0)]));
    expect(loadError(path)).toMatchObject({ reason: 'length_mismatch', offset: 24 });
    writeFileSync(path, bytes);
    expect(loadError(path, 2)).toMatchObject({ reason: 'bad_schema_version', offset: 6 });
  });

  it('refuses to write a snapshot over maxSnapshotBytes, leaving the old one', () => {
    const path = written(new Uint8Array(4));
    const before = readFileSync(path);
    expect(() =>
      writeSnapshotFile(path, header, new Uint8Array(100), { maxSnapshotBytes: 64 }),
    ).toThrow(SnapshotFileError);
    expect(readFileSync(path)).toEqual(before);
  });
});
