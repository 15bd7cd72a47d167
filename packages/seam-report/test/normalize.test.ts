import { describe, expect, it } from 'vitest';
import {
  IDENTIFIER_PLACEHOLDER,
  LITERAL_PLACEHOLDER,
  normalize,
  sameSequence,
  TokenTable,
} from '../src/normalize.js';
import { prepareSource } from '../src/source.js';

const prepared = (text: string) => prepareSource(text, 'typescript').tokens;

describe('normalize', () => {
  it('drops comments and whitespace at the code level, keeping everything else', () => {
    const table = new TokenTable();
    const a = normalize(prepared('const a = 1; // one'), 'code', table);
    const b = normalize(prepared('/* lead */ const   a =\n 1;'), 'code', table);
    expect(sameSequence(a.ids, b.ids)).toBe(true);
    expect(a.tokens.map((t) => t.text)).toEqual(['const', 'a', '=', '1', ';']);
    const c = normalize(prepared('const a = 2;'), 'code', table);
    expect(sameSequence(a.ids, c.ids)).toBe(false);
  });

  it('replaces names and literals by placeholders at the shape level, keeping keywords', () => {
    const table = new TokenTable();
    const a = normalize(prepared('const size: bigint = 16n; if (ok) return "x";'), 'shape', table);
    const b = normalize(
      prepared('const length: number = 32; if (done) return `y`;'),
      'shape',
      table,
    );
    expect(sameSequence(a.ids, b.ids)).toBe(true);
    const c = normalize(prepared('let size: bigint = 16n; if (ok) return "x";'), 'shape', table);
    expect(sameSequence(a.ids, c.ids)).toBe(false); // const → let is a keyword change
  });

  it('uses placeholders that no source token can produce', () => {
    expect(IDENTIFIER_PLACEHOLDER).toContain('\u0000');
    expect(LITERAL_PLACEHOLDER).toContain('\u0000');
    expect(IDENTIFIER_PLACEHOLDER).not.toBe(LITERAL_PLACEHOLDER);
  });

  it('interns equal texts to equal ids across sequences sharing a table', () => {
    const table = new TokenTable();
    normalize(prepared('a b c'), 'code', table);
    expect(table.size).toBe(3);
    normalize(prepared('c b d'), 'code', table);
    expect(table.size).toBe(4);
  });
});
