import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { CopyMatcher, discover, globToRegex } from '../src/discover.js';
import { ConfigError } from '../src/errors.js';

const defaults = resolveConfig({}, 'defaults');

describe('CopyMatcher', () => {
  const matcher = new CopyMatcher(defaults);

  it('matches TypeScript runtime copies and names engine and seam', () => {
    expect(matcher.match('packages/allocdb-core/src/runtime/wal-file.ts')).toEqual({
      engine: 'allocdb-core',
      engineDir: 'packages/allocdb-core',
      seam: 'wal_file',
      path: 'packages/allocdb-core/src/runtime/wal-file.ts',
      language: 'typescript',
    });
  });

  it('matches the Rust layout crates/<engine>/src/<seam>.rs', () => {
    expect(matcher.match('crates/quota-core/src/fixed_map.rs')).toMatchObject({
      engine: 'quota-core',
      seam: 'fixed_map',
      language: 'rust',
    });
  });

  it('ignores test files, declaration files, entry points and other folders', () => {
    for (const path of [
      'packages/a/src/runtime/wal.test.ts',
      'packages/a/src/runtime/wal.spec.ts',
      'packages/a/src/runtime/types.d.ts',
      'packages/a/src/runtime/index.ts',
      'packages/a/src/runtime/nested/wal.ts',
      'packages/a/src/wal.ts',
      'packages/a/test/runtime/wal.ts',
      'crates/a/src/lib.rs',
      'crates/a/src/tests.rs',
      'crates/a/src/wal_test.rs',
      'packages/a/src/runtime/wal.py',
    ]) {
      expect(matcher.match(path), path).toBeUndefined();
    }
  });

  it('offers git pathspecs that cover every pattern', () => {
    expect(matcher.pathspecs).toContain(':(glob)packages/*/src/runtime/*.ts');
    expect(matcher.pathspecs).toContain(':(glob)crates/*/src/*.rs');
    expect(matcher.directories).toEqual(['packages', 'crates']);
    expect(new CopyMatcher(resolveConfig({ engines: ['*/engine'] }, 'x')).directories).toEqual([]);
  });

  it('supports ** in engine globs', () => {
    const custom = new CopyMatcher(
      resolveConfig({ engines: ['engines/**'], seamPaths: ['lib/<seam>.ts'] }, 'x'),
    );
    expect(custom.match('engines/a/b/lib/wal.ts')).toMatchObject({
      engine: 'b',
      engineDir: 'engines/a/b',
    });
  });
});

describe('globToRegex', () => {
  it('keeps * within a segment and escapes regex characters', () => {
    const re = new RegExp(`^${globToRegex('a/*.b+c/**/d?')}$`);
    expect(re.test('a/x.b+c/d1')).toBe(true);
    expect(re.test('a/x.b+c/p/q/d1')).toBe(true);
    expect(re.test('a/x/y.b+c/d1')).toBe(false);
    expect(re.test('a/x.bbc/d1')).toBe(false);
  });
});

describe('discover', () => {
  const matcher = new CopyMatcher(defaults);
  const paths = [
    'packages/alloc/src/runtime/wal.ts',
    'packages/alloc/src/runtime/crc32c.ts',
    'packages/quota/src/runtime/wal.ts',
    'packages/seam-report/src/cli.ts',
    'README.md',
  ];

  it('groups copies into engines and seams, modules in one engine apart', () => {
    const found = discover(paths, matcher, defaults, 'the tree');
    expect(found.engines).toEqual([
      { name: 'alloc', dir: 'packages/alloc', modules: ['crc32c', 'wal'] },
      { name: 'quota', dir: 'packages/quota', modules: ['wal'] },
    ]);
    expect([...found.seams.keys()]).toEqual(['wal']);
    expect(found.seams.get('wal')!.map((c) => c.engine)).toEqual(['alloc', 'quota']);
    expect(found.singles.map((c) => c.seam)).toEqual(['crc32c']);
  });

  it('restricts to configured seams', () => {
    const config = resolveConfig({ seams: ['crc32c'] }, 'x');
    const found = discover(
      [...paths, 'packages/quota/src/runtime/crc32c.ts'],
      new CopyMatcher(config),
      config,
      't',
    );
    expect([...found.seams.keys()]).toEqual(['crc32c']);
  });

  it('refuses two engine directories with the same name', () => {
    expect(() =>
      discover(
        ['packages/core/src/runtime/wal.ts', 'crates/core/src/wal.rs'],
        matcher,
        defaults,
        'the tree',
      ),
    ).toThrow(ConfigError);
  });
});
