// FC_SEED replays a property test's seed (docs/testing.md). A value that is not a seed must stop
// the run with an error naming it: before, `Number('abc')` gave NaN, which fast-check ran as seed
// 0, so a typo silently replayed another seed and the run passed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const supports = ['quota-core', 'allocdb-core', 'seam-report'].map((name) => [
  name,
  join(root, 'packages', name, 'test', 'support', 'thorough.ts'),
]);

describe('FC_SEED', () => {
  it('a property test run with a value that is not a seed stops, naming it', () => {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')),
    );
    const result = spawnSync(
      process.execPath,
      [vitest, 'run', '--project', 'quota-core', 'test/state-machine/boundary.test.ts'],
      { cwd: root, encoding: 'utf8', env: { ...inherited, NO_COLOR: '1', FC_SEED: 'abc' } },
    );
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).not.toBe(0);
    expect(output).toContain(
      'FC_SEED must be a 32-bit unsigned integer (decimal, or hex with 0x), got "abc"',
    );
  });

  for (const [name, path] of supports) {
    it(`${name}: seeds are 32-bit integers, decimal or hex; anything else is refused`, async () => {
      const { seedFromEnv } = await import(path);
      const read = (value) => {
        process.env.FC_SEED_TEST = value;
        try {
          return seedFromEnv('FC_SEED_TEST', 7);
        } finally {
          delete process.env.FC_SEED_TEST;
        }
      };
      expect(seedFromEnv('FC_SEED_TEST', 7)).toBe(7);
      expect(read('')).toBe(7);
      expect(read('24190')).toBe(24190);
      expect(read('0x5eed')).toBe(0x5eed);
      expect(read(String(2 ** 32 - 1))).toBe(2 ** 32 - 1);
      for (const bad of ['abc', '12abc', '1.5', '-3', '1e3', String(2 ** 32)]) {
        expect(() => read(bad), bad).toThrow(
          `FC_SEED_TEST must be a 32-bit unsigned integer (decimal, or hex with 0x), got ${JSON.stringify(bad)}`,
        );
      }
    });
  }
});
