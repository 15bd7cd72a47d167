import { describe, expect, it } from 'vitest';
import type { Token } from '../../src/tokenize/token.js';
import { tokenizeTypeScript } from '../../src/tokenize/typescript.js';

const kinds = (tokens: Token[]) => tokens.map((token) => [token.kind, token.text]);

describe('tokenizeTypeScript', () => {
  it('splits declarations into keywords, identifiers, punctuation and literals', () => {
    expect(kinds(tokenizeTypeScript('export const MAX = 0x1F_00n;'))).toEqual([
      ['keyword', 'export'],
      ['keyword', 'const'],
      ['identifier', 'MAX'],
      ['punct', '='],
      ['number', '0x1F_00n'],
      ['punct', ';'],
    ]);
  });

  it('keeps comments as tokens with their lines', () => {
    const tokens = tokenizeTypeScript('// one\nlet a = 1; /* two\nlines */ a++;\n');
    expect(tokens.filter((t) => t.kind === 'comment').map((t) => [t.text, t.line])).toEqual([
      ['// one', 1],
      ['/* two\nlines */', 2],
    ]);
    expect(tokens.at(-2)).toMatchObject({ text: '++', line: 3 });
  });

  it('reads strings with escapes and stops an unterminated string at the line end', () => {
    const tokens = tokenizeTypeScript(`f('it\\'s', "q\\"x");\nconst bad = 'open\nnext;`);
    expect(tokens.filter((t) => t.kind === 'string').map((t) => t.text)).toEqual([
      "'it\\'s'",
      '"q\\"x"',
      "'open",
    ]);
    expect(tokens.at(-2)).toMatchObject({ kind: 'identifier', text: 'next', line: 3 });
  });

  it('tokenises the expressions inside template literals as code', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source text containing a template literal
    const tokens = tokenizeTypeScript('`a ${b + `c ${d}`} e`');
    expect(kinds(tokens)).toEqual([
      ['template', '`a ${'],
      ['identifier', 'b'],
      ['punct', '+'],
      ['template', '`c ${'],
      ['identifier', 'd'],
      ['template', '}`'],
      ['template', '} e`'],
    ]);
  });

  it('tells regular expressions from divisions by the token before the slash', () => {
    expect(
      kinds(tokenizeTypeScript('x = a / b / c;')).filter(([kind]) => kind === 'regex'),
    ).toEqual([]);
    expect(kinds(tokenizeTypeScript('x = /a[/]b/gi.test(s);'))).toContainEqual([
      'regex',
      '/a[/]b/gi',
    ]);
    expect(kinds(tokenizeTypeScript('return /x/;'))).toContainEqual(['regex', '/x/']);
    expect(kinds(tokenizeTypeScript('(a) / 2'))).toContainEqual(['punct', '/']);
  });

  it('matches operators longest first and keeps `?.5` a conditional', () => {
    expect(tokenizeTypeScript('a >>>= b ?? c?.d === e').map((t) => t.text)).toEqual([
      'a',
      '>>>=',
      'b',
      '??',
      'c',
      '?.',
      'd',
      '===',
      'e',
    ]);
    expect(tokenizeTypeScript('a?.5:1').map((t) => t.text)).toEqual(['a', '?', '.5', ':', '1']);
  });

  it('reads private names, booleans, and keywords used as property names', () => {
    expect(kinds(tokenizeTypeScript('this.#count = true; x.default = false;'))).toEqual([
      ['keyword', 'this'],
      ['punct', '.'],
      ['identifier', '#count'],
      ['punct', '='],
      ['boolean', 'true'],
      ['punct', ';'],
      ['identifier', 'x'],
      ['punct', '.'],
      ['identifier', 'default'],
      ['punct', '='],
      ['boolean', 'false'],
      ['punct', ';'],
    ]);
  });

  it('reads numbers with fractions, exponents and separators', () => {
    const numbers = tokenizeTypeScript('[1.5e-3, .25, 1_000, 0b1010, 0o17, 7n]')
      .filter((t) => t.kind === 'number')
      .map((t) => t.text);
    expect(numbers).toEqual(['1.5e-3', '.25', '1_000', '0b1010', '0o17', '7n']);
  });

  it('reproduces the source from token offsets', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source text containing a template literal
    const source = 'const a = `x${1}`; // end\n';
    for (const token of tokenizeTypeScript(source)) {
      expect(source.slice(token.start, token.end)).toBe(token.text);
    }
  });

  it('treats a hashbang line as a comment', () => {
    expect(tokenizeTypeScript('#!/usr/bin/env node\nrun();')[0]).toMatchObject({
      kind: 'comment',
      line: 1,
    });
  });
});
