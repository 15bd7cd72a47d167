import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig, resolveConfig, seamName } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { rejectionOf } from './support/rejection.js';

const dirs: string[] = [];
function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'seam-report-config-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the defaults from the seed document when there is no configuration', async () => {
    const config = await loadConfig(dirWith({}));
    expect(config.source).toBe('defaults');
    expect(config.engines).toEqual(['packages/*', 'crates/*']);
    expect(config.seamPaths).toContain('src/runtime/<seam>.ts');
    expect(config.seamPaths).toContain('src/<seam>.rs');
    expect(config.priority).toEqual(['retire_queue', 'fixed_map', 'wal', 'wal_file']);
    expect(config.triggers).toEqual(DEFAULTS.triggers);
    expect(config.thresholds.similar).toBe(0.8);
    expect(config.slices).toEqual({ by: 'auto' });
    expect(config.seams).toBeNull();
  });

  it('reads seam-report.config.json before the package.json key', async () => {
    const dir = dirWith({
      'seam-report.config.json': JSON.stringify({ never: ['snapshot'] }),
      'package.json': JSON.stringify({ name: 'x', seamReport: { never: ['codec'] } }),
    });
    const config = await loadConfig(dir);
    expect(config.never).toEqual(['snapshot']);
    expect(config.source).toBe(join(dir, 'seam-report.config.json'));
  });

  it('reads the seamReport key of package.json, and ignores a package.json without it', async () => {
    const withKey = await loadConfig(
      dirWith({ 'package.json': JSON.stringify({ seamReport: { layout: 'rust' } }) }),
    );
    expect(withKey.engines).toEqual(['crates/*']);
    expect(withKey.seamPaths).toEqual(['src/<seam>.rs']);
    expect(withKey.source).toMatch(/package\.json#seamReport$/);
    const withoutKey = await loadConfig(dirWith({ 'package.json': '{"name":"x"}' }));
    expect(withoutKey.source).toBe('defaults');
  });

  it('reads an explicit file and fails clearly when it is missing', async () => {
    const dir = dirWith({ 'custom.json': JSON.stringify({ priority: ['wal-file'] }) });
    expect((await loadConfig(dir, { configPath: join(dir, 'custom.json') })).priority).toEqual([
      'wal_file',
    ]);
    await expect(loadConfig(dir, { configPath: join(dir, 'missing.json') })).rejects.toMatchObject({
      code: 'config_unreadable',
      message: expect.stringContaining('no such file'),
    });
  });

  it('reports broken JSON with a line and column', async () => {
    const dir = dirWith({ 'seam-report.config.json': '{\n  "never": ["a"],\n}\n' });
    const error = (await rejectionOf(loadConfig(dir))) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('config_unreadable');
    expect(error.message).toMatch(/seam-report\.config\.json: not valid JSON/);
    expect(error.message).toMatch(/line 3, column 1/);
    expect(error.hint).toMatch(/trailing comma/);
  });
});

describe('resolveConfig validation', () => {
  it('names unknown keys and suggests the intended one', () => {
    const error = configError(() => resolveConfig({ thresholds: { simlar: 0.9 } }, 'cfg.json'));
    expect(error.message).toBe('cfg.json: unknown key thresholds.simlar');
    expect(error.hint).toBe('Did you mean thresholds.similar?');
    expect(configError(() => resolveConfig({ triggers: { third: {} } }, 'x')).message).toMatch(
      /unknown key triggers\.third/,
    );
  });

  it('rejects values out of range or of the wrong type, saying what was found', () => {
    expect(configError(() => resolveConfig({ thresholds: { similar: 1.5 } }, 'x')).message).toMatch(
      /thresholds\.similar must be a number between 0 and 1, got number 1\.5/,
    );
    expect(configError(() => resolveConfig({ never: 'snapshot' }, 'x')).message).toMatch(
      /never must be a list of non-empty strings, got "snapshot"/,
    );
    expect(
      configError(() =>
        resolveConfig({ triggers: { repeated_fix: { mirroredChanges: 1.5 } } }, 'x'),
      ).message,
    ).toMatch(/whole number/);
    expect(configError(() => resolveConfig([], 'x')).message).toMatch(
      /must be a JSON object, got an array/,
    );
    expect(configError(() => resolveConfig({ layout: 'go' }, 'x')).message).toMatch(
      /layout must be/,
    );
    expect(
      configError(() => resolveConfig({ thresholds: { driftInStep: 'close' } }, 'x')).message,
    ).toMatch(/driftInStep must be one of identical, equivalent, renamed, similar, diverged/);
  });

  it('checks engine and seam path patterns', () => {
    expect(
      configError(() => resolveConfig({ seamPaths: ['src/runtime/x.ts'] }, 'x')).message,
    ).toMatch(/must contain <seam> exactly once/);
    expect(configError(() => resolveConfig({ seamPaths: ['src/<seam>.py'] }, 'x')).message).toMatch(
      /unsupported file extension/,
    );
    expect(configError(() => resolveConfig({ engines: ['../other/*'] }, 'x')).message).toMatch(
      /relative path/,
    );
    expect(configError(() => resolveConfig({ engines: ['packages/<seam>'] }, 'x')).hint).toMatch(
      /seamPaths/,
    );
  });

  it('checks slice modes', () => {
    expect(resolveConfig({ slices: { by: 'tags' } }, 'x').slices).toEqual({
      by: 'tags',
      pattern: '*',
    });
    expect(
      resolveConfig({ slices: { by: 'release-commits', subject: '^release' } }, 'x').slices,
    ).toEqual({
      by: 'release-commits',
      subject: '^release',
    });
    expect(
      configError(() => resolveConfig({ slices: { by: 'release-commits', subject: '(' } }, 'x'))
        .message,
    ).toMatch(/not a valid regular expression/);
    expect(configError(() => resolveConfig({ slices: { by: 'weeks' } }, 'x')).message).toMatch(
      /slices\.by/,
    );
  });

  it('normalises seam names to snake_case everywhere', () => {
    const config = resolveConfig(
      {
        seams: ['wal-file'],
        never: ['retire-queue'],
        triggers: { stable_across_slices: { seams: ['fixed-map'] } },
      },
      'x',
    );
    expect(config.seams).toEqual(['wal_file']);
    expect(config.never).toEqual(['retire_queue']);
    expect(config.triggers.stable_across_slices.seams).toEqual(['fixed_map']);
    expect(seamName('a-b-c')).toBe('a_b_c');
  });

  it('keeps a maintenance window when given and null otherwise', () => {
    expect(resolveConfig({}, 'x').triggers.maintenance_cost.windowDays).toBeNull();
    expect(
      resolveConfig({ triggers: { maintenance_cost: { windowDays: 90 } } }, 'x').triggers
        .maintenance_cost.windowDays,
    ).toBe(90);
  });
});
