import { describe, expect, it } from 'vitest';
import { compareDeclarations, findDeclarations } from '../src/declarations.js';
import { codeTokens } from '../src/normalize.js';
import { prepareSource } from '../src/source.js';
import type { Language } from '../src/tokenize/token.js';
import { RETIRE_QUEUE_TS, WAL_RS, WAL_TS } from './support/sources.js';

function declarationsOf(text: string, language: Language) {
  const code = codeTokens(prepareSource(text, language).tokens);
  return { code, declarations: findDeclarations(code, language) };
}

const names = (text: string, language: Language) =>
  declarationsOf(text, language).declarations.map(
    (d) => `${d.kind} ${d.name}${d.exported ? ' (exported)' : ''}`,
  );

describe('findDeclarations (TypeScript)', () => {
  it('finds top-level functions, constants, interfaces and their export status', () => {
    expect(names(WAL_TS, 'typescript')).toEqual([
      'constant FRAME_MAGIC (exported)',
      'constant HEADER_BYTES (exported)',
      'constant CHECKSUM_OFFSET (exported)',
      'interface Frame (exported)',
      'function encodeFrame (exported)',
      'function decodeFrame (exported)',
      'function scan (exported)',
    ]);
  });

  it('finds a class, its fields, constructor, accessors and methods', () => {
    expect(names(RETIRE_QUEUE_TS, 'typescript')).toEqual([
      'class RetireQueue (exported)',
      'field RetireQueue.capacity',
      'field RetireQueue.keys',
      'field RetireQueue.head',
      'field RetireQueue.count',
      'method RetireQueue.constructor',
      'getter RetireQueue.size',
      'method RetireQueue.push',
      'method RetireQueue.popFront',
    ]);
  });

  it('covers each declaration from its first to its last token', () => {
    const { code, declarations } = declarationsOf(WAL_TS, 'typescript');
    const scan = declarations.find((d) => d.name === 'scan')!;
    expect(code[scan.first]!.text).toBe('export');
    expect(code[scan.last]!.text).toBe('}');
    expect(scan.last).toBe(code.length - 1);
  });

  it('handles object return types, overloads, type aliases, `export { … }` lists and code without semicolons', () => {
    const source = [
      'function size(): { width: number } { return { width: 1 }; }',
      'function parse(x: string): number;',
      'function parse(x: string) { return Number(x) }',
      'type Id = bigint | number',
      'const a = 1',
      'let b = () => { return a }',
      'export { a, size as measure };',
      'enum Color { Red, Green }',
    ].join('\n');
    expect(names(source, 'typescript')).toEqual([
      'function size (exported)',
      'function parse',
      'function parse',
      'type Id',
      'constant a (exported)',
      'variable b',
      'enum Color',
    ]);
  });
});

describe('findDeclarations (Rust)', () => {
  it('finds consts, structs, impl methods (qualified by type) and functions', () => {
    expect(names(WAL_RS, 'rust')).toEqual([
      'constant FRAME_MAGIC (exported)',
      'constant HEADER_BYTES (exported)',
      'struct Frame (exported)',
      'method Frame::encode (exported)',
      'function scan (exported)',
    ]);
  });

  it('qualifies trait impls by the implementing type and nested modules by their path', () => {
    const source = [
      'impl<K: Copy> Default for Table<K> { fn default() -> Self { todo!() } }',
      'trait Codec { fn encode(&self) -> Vec<u8>; }',
      'mod inner { pub(crate) static COUNT: u32 = 0; pub enum Kind { A, B } }',
      'macro_rules! check { ($x:expr) => { assert!($x) }; }',
      'pub struct Pair(u8, u8);',
      'pub const fn zero() -> u8 { 0 }',
    ].join('\n');
    expect(names(source, 'rust')).toEqual([
      'method Table::default',
      'trait Codec',
      'method Codec::encode',
      'static inner::COUNT (exported)',
      'enum inner::Kind (exported)',
      'macro check',
      'struct Pair (exported)',
      'function zero (exported)',
    ]);
  });
});

describe('compareDeclarations', () => {
  const copy = (engine: string, text: string) => ({
    engine,
    ...declarationsOf(text, 'typescript'),
  });

  it('reports declarations missing from a copy, differing, renamed, and counts the same ones', () => {
    const other = WAL_TS.replace('offset < HEADER_BYTES) return', 'offset <= HEADER_BYTES) return') // decodeFrame differs
      .replace('HEADER_BYTES = 16', 'HEADER_BYTES = 24') // a literal: same shape
      .replace(/export function scan[\s\S]*$/, ''); // scan missing
    const result = compareDeclarations([copy('alpha', WAL_TS), copy('beta', other)]);
    const byName = new Map(result.map((d) => [d.name, d]));
    expect(byName.get('FRAME_MAGIC')!.status).toBe('same');
    expect(byName.get('HEADER_BYTES')!.status).toBe('renamed');
    expect(byName.get('decodeFrame')).toMatchObject({
      status: 'differs',
      copies: [{ engine: 'beta', status: 'differs' }],
    });
    expect(byName.get('decodeFrame')!.similarity).toBeGreaterThan(0.9);
    expect(byName.get('decodeFrame')!.similarity).toBeLessThan(1);
    expect(byName.get('scan')).toMatchObject({
      status: 'partial',
      line: 34,
      copies: [{ engine: 'beta', status: 'missing', similarity: null, line: null }],
    });
  });

  it('compares three copies as one group, each against the canonical one', () => {
    const third = WAL_TS.replace('offset += HEADER_BYTES', 'offset = offset + HEADER_BYTES');
    const result = compareDeclarations([copy('a', WAL_TS), copy('b', WAL_TS), copy('c', third)]);
    expect(result.filter((d) => d.status !== 'same').map((d) => d.name)).toEqual(['scan']);
    expect(result.find((d) => d.name === 'scan')!.copies.map((c) => c.engine)).toEqual(['c']);
  });

  it('says which copies have a declaration the canonical copy lacks', () => {
    const extra = `${WAL_TS}\nexport function dump(): string { return 'frames'; }\n`;
    const result = compareDeclarations(
      [copy('a', WAL_TS), copy('b', extra), copy('c', extra), copy('d', WAL_TS)],
      3,
    );
    expect(result.find((d) => d.name === 'dump')).toMatchObject({
      status: 'partial',
      line: null,
      copies: [
        { engine: 'b', status: 'extra' },
        { engine: 'c', status: 'extra' },
      ],
    });
  });
});
