/**
 * The dashboard's static assets (htmx, its script, its stylesheet, the favicon), read once from the
 * `static/` folder next to this module and served from memory with an ETag.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A static asset held in memory. */
export interface Asset {
  /** The file's bytes. */
  body: Buffer;
  /** Its content type. */
  type: string;
  /** A strong ETag over its bytes. */
  etag: string;
}

const STATIC_FILES: Record<string, string> = {
  'htmx.min.js': 'text/javascript; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Load the assets shipped next to this module (`static/`); a missing one is reported, not fatal. */
export function loadAssets(onMissing: (file: string, err: unknown) => void): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [file, type] of Object.entries(STATIC_FILES)) {
    try {
      const body = readFileSync(new URL(`./static/${file}`, import.meta.url));
      assets.set(file, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 20)}"` });
    } catch (err) {
      onMissing(file, err);
    }
  }
  return assets;
}
