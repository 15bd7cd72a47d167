import { describe, expect, it } from 'vitest';
import { prepareSource } from '../../src/source.js';
import { findTestItems, removeRanges, tokenizeRust } from '../../src/tokenize/rust.js';
import type { Token } from '../../src/tokenize/token.js';
import { rustTests, WAL_RS } from '../support/sources.js';

const kinds = (tokens: Token[]) => tokens.map((token) => [token.kind, token.text]);

describe('tokenizeRust', () => {
  it('reads items, paths and suffixed numbers', () => {
    expect(kinds(tokenizeRust('pub const MAX: u64 = 1_000u64;'))).toEqual([
      ['keyword', 'pub'],
      ['keyword', 'const'],
      ['identifier', 'MAX'],
      ['punct', ':'],
      ['identifier', 'u64'],
      ['punct', '='],
      ['number', '1_000u64'],
      ['punct', ';'],
    ]);
    expect(tokenizeRust('std::mem::take(&mut x)').map((t) => t.text)).toEqual([
      'std',
      '::',
      'mem',
      '::',
      'take',
      '(',
      '&',
      'mut',
      'x',
      ')',
    ]);
  });

  it('tells char literals from lifetimes and labels', () => {
    expect(kinds(tokenizeRust("fn f<'a>(x: &'a str) -> char { 'x' }"))).toContainEqual([
      'lifetime',
      "'a",
    ]);
    expect(kinds(tokenizeRust("let c = '\\n'; let d = b'z'; 'outer: loop {}"))).toEqual([
      ['keyword', 'let'],
      ['identifier', 'c'],
      ['punct', '='],
      ['char', "'\\n'"],
      ['punct', ';'],
      ['keyword', 'let'],
      ['identifier', 'd'],
      ['punct', '='],
      ['char', "b'z'"],
      ['punct', ';'],
      ['lifetime', "'outer"],
      ['punct', ':'],
      ['keyword', 'loop'],
      ['punct', '{'],
      ['punct', '}'],
    ]);
  });

  it('reads raw, byte and C strings, and raw identifiers', () => {
    const tokens = tokenizeRust(
      'let s = r#"a "quoted" b"#; let b = br"x"; let c = c"y"; let r#type = 1;',
    );
    expect(tokens.filter((t) => t.kind === 'string').map((t) => t.text)).toEqual([
      'r#"a "quoted" b"#',
      'br"x"',
      'c"y"',
    ]);
    expect(tokens).toContainEqual(expect.objectContaining({ kind: 'identifier', text: 'r#type' }));
  });

  it('nests block comments and keeps doc comments as comments', () => {
    const tokens = tokenizeRust('/* a /* b */ c */ /// doc\nfn x() {}');
    expect(tokens.filter((t) => t.kind === 'comment').map((t) => t.text)).toEqual([
      '/* a /* b */ c */',
      '/// doc',
    ]);
  });

  it('reads ranges, floats and tuple fields apart', () => {
    expect(tokenizeRust('0..10 1.5f32 t.0.1 2.max(3)').map((t) => t.text)).toEqual([
      '0',
      '..',
      '10',
      '1.5f32',
      't',
      '.',
      '0',
      '.',
      '1',
      '2',
      '.',
      'max',
      '(',
      '3',
      ')',
    ]);
  });
});

describe('cutting #[cfg(test)] items', () => {
  it('removes a test module block, attributes and all', () => {
    const source = `${WAL_RS}${rustTests('tests', 'assert_eq!(scan(&[]).len(), 0);')}`;
    const ranges = findTestItems(tokenizeRust(source));
    expect(ranges).toHaveLength(1);
    expect(removeRanges(source, ranges).trimEnd()).toBe(WAL_RS.trimEnd());
  });

  it('removes `mod tests;` declarations and test-only functions, keeps cfg(any(test, …)) code', () => {
    const source = [
      'fn a() {}',
      '#[cfg(test)]',
      'mod tests;',
      '#[cfg(test)]',
      '#[allow(dead_code)]',
      'fn helper() -> Vec<u8> { vec![1, 2] }',
      '#[cfg(any(test, feature = "x"))]',
      'fn kept() {}',
    ].join('\n');
    const cut = removeRanges(source, findTestItems(tokenizeRust(source)));
    expect(cut).toContain('fn a() {}');
    expect(cut).not.toContain('mod tests');
    expect(cut).not.toContain('helper');
    expect(cut).toContain('fn kept() {}');
  });

  it('compares two copies whose only difference is their tests as identical text', () => {
    const a = prepareSource(`${WAL_RS}${rustTests('tests', 'assert!(true);')}`, 'rust');
    const b = prepareSource(
      `${WAL_RS}${rustTests('wal_tests', 'let x = 1; assert_eq!(x, 1);')}`,
      'rust',
    );
    expect(a.text).toBe(b.text);
    expect(a.tokens.map((t) => t.text)).toEqual(b.tokens.map((t) => t.text));
  });

  it('leaves a file without test items untouched', () => {
    const prepared = prepareSource(WAL_RS, 'rust');
    expect(prepared.text).toBe(WAL_RS);
  });
});
