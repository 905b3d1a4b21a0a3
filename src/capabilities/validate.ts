import { isProviderType, RESOURCE_CLASSES } from '../protocol/glossary.js';
import { DEFAULT_QUERY_ALIASES } from './aliases.js';
import { CONFIGURABLE_CLASSES, type ConfigurableClass } from './classes.js';
import { resolveModel } from './names.js';
import { NAMED_PROFILES } from './profiles.js';
import type { CapabilityConfigIssue } from './types.js';

/**
 * Checks a `capabilities` config object and lists every problem with the dotted path of the key
 * (relative to the capabilities object) so the config loader can name it. An empty list means the
 * catalog will use every entry as written; the catalog itself skips what this rejects.
 */

const TOP_KEYS = new Set(['classes', 'aliases', 'specsCsvPath']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `value` is something a query can name without aliases: class, profile or model. */
function isResourceWord(value: string): boolean {
  const upper = value.trim().toUpperCase();
  return (
    (RESOURCE_CLASSES as readonly string[]).includes(upper) ||
    upper in NAMED_PROFILES ||
    upper in DEFAULT_QUERY_ALIASES ||
    resolveModel(value) !== null
  );
}

function checkClasses(classes: unknown, issues: CapabilityConfigIssue[]): void {
  if (!isRecord(classes)) {
    issues.push({ path: 'classes', message: 'must be an object of class name → list of GPU models' });
    return;
  }
  const seen = new Map<string, string>();
  for (const [key, list] of Object.entries(classes)) {
    const path = `classes.${key}`;
    if (!(CONFIGURABLE_CLASSES as readonly string[]).includes(key)) {
      const why = (RESOURCE_CLASSES as readonly string[]).includes(key)
        ? `${key} is derived (models in no class), not configurable`
        : `unknown class; use one of ${CONFIGURABLE_CLASSES.join(', ')}`;
      issues.push({ path, message: why });
      continue;
    }
    if (!Array.isArray(list)) {
      issues.push({ path, message: 'must be a list of GPU model names' });
      continue;
    }
    list.forEach((name: unknown, i) => {
      const at = `${path}.${i}`;
      if (typeof name !== 'string') {
        issues.push({ path: at, message: 'must be a string' });
        return;
      }
      const model = resolveModel(name);
      if (model === null) {
        issues.push({ path: at, message: `"${name}" is not a known GPU model` });
        return;
      }
      const other = seen.get(model);
      if (other !== undefined && other !== key) {
        issues.push({ path: at, message: `${model} is already in ${other}; a model belongs to one class` });
      }
      seen.set(model, key as ConfigurableClass);
    });
  }
}

function checkAliases(aliases: unknown, issues: CapabilityConfigIssue[]): void {
  if (!isRecord(aliases)) {
    issues.push({ path: 'aliases', message: 'must be an object of alias → target' });
    return;
  }
  for (const [key, target] of Object.entries(aliases)) {
    const path = `aliases.${key}`;
    const upper = key.trim().toUpperCase();
    if ((RESOURCE_CLASSES as readonly string[]).includes(upper) || upper in NAMED_PROFILES) {
      issues.push({ path, message: `${key} is a class or profile name and cannot be redefined` });
    } else if (typeof target !== 'string') {
      issues.push({ path, message: 'must be a string' });
    } else if (!isProviderType(target) && !isResourceWord(target)) {
      issues.push({
        path,
        message: `"${target}" is neither a provider type nor a class, profile or GPU model`,
      });
    }
  }
}

export function validateCapabilityConfig(obj: unknown): CapabilityConfigIssue[] {
  if (obj === undefined || obj === null) return [];
  if (!isRecord(obj)) return [{ path: '(root)', message: 'capabilities must be an object' }];
  const issues: CapabilityConfigIssue[] = [];
  for (const key of Object.keys(obj)) {
    if (!TOP_KEYS.has(key))
      issues.push({ path: key, message: `unknown key; use ${[...TOP_KEYS].join(', ')}` });
  }
  if (obj.classes !== undefined) checkClasses(obj.classes, issues);
  if (obj.aliases !== undefined) checkAliases(obj.aliases, issues);
  if (obj.specsCsvPath !== undefined && typeof obj.specsCsvPath !== 'string') {
    issues.push({ path: 'specsCsvPath', message: 'must be a path string' });
  }
  return issues;
}
