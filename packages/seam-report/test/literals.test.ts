import { describe, expect, it } from 'vitest';
import { findDeclarations } from '../src/declarations.js';
import { findAlignedDifferences } from '../src/literals.js';
import { normalize, TokenTable } from '../src/normalize.js';
import { prepareSource } from '../src/source.js';
import { WAL_TS } from './support/sources.js';

function aligned(engine: string, text: string, table: TokenTable) {
  const tokens = prepareSource(text, 'typescript').tokens;
  const shape = normalize(tokens, 'shape', table);
  const code = normalize(tokens, 'code', table);
  return { engine, code, shape, declarations: findDeclarations(shape.tokens, 'typescript') };
}

describe('findAlignedDifferences', () => {
  it('pairs differing literals by position and names their declaration', () => {
    const table = new TokenTable();
    const other = WAL_TS.replace('FRAME_MAGIC = 0x57414c31', 'FRAME_MAGIC = 0x51554f31').replace(
      'CHECKSUM_OFFSET = 12',
      'CHECKSUM_OFFSET = 8',
    );
    const result = findAlignedDifferences(aligned('alloc', WAL_TS, table), [
      aligned('quota', other, table),
    ]);
    expect(result.literals).toEqual([
      {
        declaration: 'FRAME_MAGIC',
        values: [
          { engine: 'alloc', text: '0x57414c31', line: 4 },
          { engine: 'quota', text: '0x51554f31', line: 4 },
        ],
      },
      {
        declaration: 'CHECKSUM_OFFSET',
        values: [
          { engine: 'alloc', text: '12', line: 6 },
          { engine: 'quota', text: '8', line: 6 },
        ],
      },
    ]);
    expect(result.names).toEqual([]);
  });

  it('collects consistent renamings with their number of places', () => {
    const table = new TokenTable();
    const other = WAL_TS.replaceAll('bigint', 'number').replaceAll('Frame', 'Record');
    const result = findAlignedDifferences(aligned('a', WAL_TS, table), [
      aligned('b', other, table),
    ]);
    expect(result.literals).toEqual([]);
    const summary = result.names.map(
      (n) => `${n.reference}→${n.renamed[0]!.name}×${n.occurrences}`,
    );
    expect(summary).toContain('bigint→number×1');
    expect(summary).toContain('Frame→Record×5');
    expect(summary).toContain('encodeFrame→encodeRecord×1');
  });

  it('states a difference once in an N-way group: the reference value, then only the copies that differ', () => {
    const table = new TokenTable();
    const changed = WAL_TS.replace('HEADER_BYTES = 16', 'HEADER_BYTES = 32');
    const result = findAlignedDifferences(aligned('a', WAL_TS, table), [
      aligned('b', WAL_TS, table),
      aligned('c', changed, table),
    ]);
    expect(result.literals).toHaveLength(1);
    expect(result.literals[0]!.values.map((v) => `${v.engine}=${v.text}`)).toEqual([
      'a=16',
      'c=32',
    ]);
  });
});
