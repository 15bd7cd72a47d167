/**
 * `render(report, format)`: one report, five formats.
 */
import type { SeamReport } from '../report.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderSarif } from './sarif.js';
import { renderText, type TextOptions } from './text.js';

export const FORMATS = ['text', 'markdown', 'json', 'html', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

export type RenderOptions = TextOptions;

export function render(report: SeamReport, format: Format, options: RenderOptions = {}): string {
  switch (format) {
    case 'text':
      return renderText(report, options);
    case 'markdown':
      return renderMarkdown(report);
    case 'json':
      return renderJson(report);
    case 'html':
      return renderHtml(report);
    case 'sarif':
      return renderSarif(report);
  }
}
