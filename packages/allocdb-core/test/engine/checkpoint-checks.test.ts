/**
 * A checkpoint rebuilds the state at its pinned LSN from the files on disk (docs/engine.md,
 * "Checkpoints"). What it rebuilt must be the live state at the pin: the same LSN, the same
 * request slot and the same table counts. A log changed under the engine replays to the pinned
 * LSN with something else; the snapshot must then not be written, and the engine halts (memory
 * no longer matches the log).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_REQUEST_COMMAND_OFFSET } from '../../src/codec/command-codec.js';
import { DEFAULT_MAX_COMMAND_BYTES } from '../../src/constants.js';
import { EngineHaltedError, InvariantViolation } from '../../src/errors.js';
import { encodeFrames, scanLog, type WalFrame } from '../../src/runtime/wal.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request, snapshotPath, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();

const createResource = (resourceId: bigint) => ({ kind: 'create_resource', resourceId }) as const;

/** Rewrites the log in place (same length), each frame replaced by what `change` makes of it. */
function rewriteLog(dir: string, change: (frame: WalFrame, index: number) => WalFrame): void {
  const options = { maxPayloadBytes: DEFAULT_MAX_COMMAND_BYTES };
  const bytes = new Uint8Array(readFileSync(walPath(dir)));
  const scanned = scanLog(bytes, options);
  expect(scanned.stop.kind).toBe('clean');
  const rewritten = encodeFrames(scanned.frames.map(change), options);
  expect(rewritten.length).toBe(bytes.length);
  writeFileSync(walPath(dir), rewritten);
}

describe('a checkpoint checks the state it rebuilt against the live state at the pin', () => {
  it('refuses a rebuilt state at another request slot: no snapshot, the engine halts', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createResource(1n)), { requestSlot: 5n });
    await engine.submit(request(createResource(2n)), { requestSlot: 6n });
    // The last frame's slot changes on disk: the replay still ends at LSN 2.
    rewriteLog(dir, (frame, index) => (index === 1 ? { ...frame, requestSlot: 7n } : frame));
    const failed = await engine.checkpoint().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(InvariantViolation);
    expect((failed as Error).message).toMatch(/slot 7.*slot 6|request slot/);
    expect(existsSync(snapshotPath(dir))).toBe(false);
    expect(engine.metrics().acceptingWrites).toBe(false);
    expect(() => engine.getResource(1n)).toThrow(EngineHaltedError);
    await engine.close();
  });

  it('refuses a rebuilt state with other table counts at the same LSN and slot', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createResource(1n)), { requestSlot: 5n });
    await engine.submit(request(createResource(2n)), { requestSlot: 5n });
    // The second frame creates resource 1 again on disk (same length): one resource, not two.
    const first = scanLog(new Uint8Array(readFileSync(walPath(dir))), {
      maxPayloadBytes: DEFAULT_MAX_COMMAND_BYTES,
    }).frames[0]!;
    rewriteLog(dir, (frame, index) => {
      if (index !== 1) return frame;
      // After the operation and client ids, the two commands differ only in the resource id.
      const payload = Uint8Array.from(frame.payload);
      const differing = payload.findIndex(
        (byte, at) => at >= CLIENT_REQUEST_COMMAND_OFFSET && byte !== first.payload[at],
      );
      payload[differing] = first.payload[differing]!;
      return { ...frame, payload };
    });
    const failed = await engine.checkpoint().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(InvariantViolation);
    expect((failed as Error).message).toMatch(/resources/);
    expect(existsSync(snapshotPath(dir))).toBe(false);
    expect(engine.metrics().acceptingWrites).toBe(false);
    await engine.close();
  });

  it('writes the snapshot when the rebuilt state is the live one', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createResource(1n)), { requestSlot: 5n });
    await engine.submit(request(createResource(2n)), { requestSlot: 6n });
    await expect(engine.checkpoint()).resolves.toMatchObject({ snapshotLsn: 2n });
    expect(engine.metrics()).toMatchObject({
      acceptingWrites: true,
      lastCheckpointError: undefined,
    });
    await engine.close();
  });
});
