import { fileURLToPath } from 'node:url';

/**
 * The package root (where data/ and proto/ live). This file compiles to dist/src/util/paths.js,
 * so the root is three levels up; shipped data is read from there, never from the working dir.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function packagePath(...parts: string[]): string {
  return [PACKAGE_ROOT.replace(/\/$/, ''), ...parts].join('/');
}
