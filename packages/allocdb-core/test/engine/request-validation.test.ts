/**
 * What the durable engine refuses at submission, before anything reaches the log: malformed
 * requests get a definite `invalid_request` whose message says exactly what is wrong.
 */
import { statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeClientRequest } from '../../src/codec/command-codec.js';
import { InvalidRequestError, SubmissionError } from '../../src/errors.js';
import { encodeFrames, RecordType } from '../../src/runtime/wal.js';
import type { ClientRequest, Command } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request, SMALL_CONFIG, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** Submits `input` both ways; returns the (identical) refusal of the async path. */
async function refusal(
  engine: Awaited<ReturnType<typeof openEngine>>,
  input: unknown,
): Promise<SubmissionError> {
  expect(() => engine.submitSync(input as never)).toThrow(SubmissionError);
  try {
    await engine.submit(input as never);
  } catch (error) {
    expect(error).toBeInstanceOf(SubmissionError);
    expect(error).toMatchObject({ code: 'invalid_request', definite: true });
    return error as SubmissionError;
  }
  throw new Error('accepted');
}

describe('AllocDbEngine refuses malformed requests before the log', () => {
  it('unknown keys in the request or its command, with a "did you mean"', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const typo = await refusal(engine, {
      operationId: 1n,
      clientId: 1n,
      command: { kind: 'reserve', resourceId: 1n, holderId: 1n, ttl: 30n },
    });
    expect(typo.message).toContain('command.ttl');
    expect(typo.message).toContain('did you mean "ttlSlots"?');
    expect(typo.cause).toBeInstanceOf(InvalidRequestError);
    expect((typo.cause as InvalidRequestError).code).toBe('unknown_field');

    const extra = await refusal(engine, {
      operationId: 1n,
      clientId: 1n,
      command: { kind: 'create_resource', resourceId: 1n },
      requestSlot: 5n,
    });
    expect((extra.cause as InvalidRequestError).field).toBe('requestSlot');

    expect(statSync(walPath(dir)).size).toBe(0);
    expect(engine.metrics().framesCommitted).toBe(0);
    await engine.close();
  });
});

const bundle = (resourceIds: bigint[]): Command => ({
  kind: 'reserve_bundle',
  resourceIds,
  holderId: 1n,
  ttlSlots: 3n,
});

describe('AllocDbEngine refuses malformed bundles before the log (issue 14, item 4)', () => {
  it('an empty bundle is invalid_request, not a logged bundle_too_large', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const error = await refusal(engine, request(bundle([])));
    expect(error.message).toMatch(/command\.resourceIds: must hold at least one resource id/);
    expect(error.cause).toMatchObject({ code: 'empty_bundle', field: 'command.resourceIds' });
    expect(statSync(walPath(dir)).size).toBe(0);
    await engine.close();
  });

  it('a bundle naming a resource twice is invalid_request naming both places', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    for (const id of [1n, 2n, 3n]) {
      engine.submitSync(request({ kind: 'create_resource', resourceId: id }));
    }
    const walBytes = statSync(walPath(dir)).size;
    const error = await refusal(engine, request(bundle([1n, 2n, 3n, 2n])));
    expect(error.message).toMatch(
      /command\.resourceIds\[3\]: repeats command\.resourceIds\[1\] \(resource 2\)/,
    );
    expect(error.cause).toMatchObject({
      code: 'duplicate_member',
      field: 'command.resourceIds[3]',
    });
    // The first repeat is named, whatever follows it.
    const first = await refusal(engine, request(bundle([3n, 1n, 1n, 3n])));
    expect(first.message).toContain('command.resourceIds[2]: repeats command.resourceIds[1]');
    // In a batch, only the malformed entry is refused; nothing of it is written.
    const batch = engine.submitBatchSync([request(bundle([1n, 1n])), request(bundle([1n, 2n]))]);
    expect(batch[0]).toMatchObject({ code: 'invalid_request', definite: true });
    expect(batch[1]).toMatchObject({ lsn: 4n, outcome: { resultCode: 'ok' } });
    expect(engine.metrics().framesCommitted).toBe(4);
    expect(statSync(walPath(dir)).size).toBeGreaterThan(walBytes);
    await engine.close();
  });

  it('a bundle longer than maxBundleSize is still an outcome (a domain answer)', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const ids = Array.from({ length: SMALL_CONFIG.maxBundleSize + 1 }, (_, i) => BigInt(i + 1));
    const result = await engine.submit(request(bundle(ids)));
    expect(result.outcome.resultCode).toBe('bundle_too_large');
    expect(result.lsn).toBe(1n);
    // A long bundle with a repeat is malformed whatever its length.
    const long = await refusal(engine, request(bundle([...ids, 5n])));
    expect(long.message).toContain(
      `command.resourceIds[${ids.length}]: repeats command.resourceIds[4]`,
    );
    await engine.close();
  });

  it('a log written before the rule replays such commands with their old outcomes', async () => {
    const dir = tempDir();
    const logged: ClientRequest[] = [
      request({ kind: 'create_resource', resourceId: 1n }, 101n),
      request(bundle([]), 102n),
      request(bundle([1n, 1n]), 103n),
      request(bundle([1n]), 104n),
    ];
    writeFileSync(
      walPath(dir),
      encodeFrames(
        logged.map((entry, i) => ({
          recordType: RecordType.client,
          lsn: BigInt(i + 1),
          requestSlot: 1n,
          payload: encodeClientRequest(entry),
        })),
        { maxPayloadBytes: 1024 },
      ),
    );
    const engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({ startupKind: 'wal_only', replayedFrames: 4 });
    const outcome = (operationId: bigint) => engine.getOperation(operationId)?.outcome.resultCode;
    expect(outcome(102n)).toBe('bundle_too_large');
    expect(outcome(103n)).toBe('resource_busy');
    expect(outcome(104n)).toBe('ok');
    expect(engine.getResource(1n)?.state).toBe('reserved');
    await engine.close();
  });
});
