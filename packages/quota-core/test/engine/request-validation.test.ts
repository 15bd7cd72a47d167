/**
 * What the durable engine refuses at submission, before anything reaches the log: malformed
 * requests get a definite `invalid_request` whose message says exactly what is wrong.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, SubmissionError } from '../../src/errors.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, walPath } from './engine-fixtures.js';

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

describe('QuotaEngine refuses malformed requests before the log', () => {
  it('unknown keys in the request or its command, with a "did you mean"', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const typo = await refusal(engine, {
      operationId: 1n,
      clientId: 1n,
      command: { kind: 'debit', bucketId: 1n, amout: 3n },
    });
    expect(typo.message).toContain('command.amout');
    expect(typo.message).toContain('did you mean "amount"?');
    expect(typo.cause).toBeInstanceOf(InvalidRequestError);
    expect((typo.cause as InvalidRequestError).code).toBe('unknown_field');

    const extra = await refusal(engine, {
      operationId: 1n,
      clientId: 1n,
      command: { kind: 'debit', bucketId: 1n, amount: 3n },
      requestSlot: 5n,
    });
    expect((extra.cause as InvalidRequestError).field).toBe('requestSlot');

    expect(statSync(walPath(dir)).size).toBe(0);
    expect(engine.metrics().framesCommitted).toBe(0);
    await engine.close();
  });
});
