import { z } from 'zod';
import { says } from '../../schema/common.js';

/** An object-level error that leaves unknown keys to zod's own message (reported at the key). */
function objectError(what: string, fix: string) {
  const message = says(what, fix);
  return (issue: { code?: string; input?: unknown }) =>
    issue.code === 'unrecognized_keys' ? undefined : message(issue);
}

/** The schema of a method without options: only `{}` (or no balanceOptions) is accepted. */
export function noOptions(method: string) {
  return z.strictObject(
    {},
    {
      error: objectError(
        `balanceOptions must be an object (method '${method}' has no options)`,
        'Leave balanceOptions out.',
      ),
    },
  );
}

/** A number option: finite, with bounds, and an example in the fix. */
export function numberOption(
  name: string,
  example: string,
  bounds: { min?: number; gt?: number; max?: number } = {},
) {
  const fix = `Use e.g. ${name}: ${example}.`;
  let schema = z.number({ error: says(`${name} must be a number`, fix) });
  if (bounds.gt !== undefined)
    schema = schema.gt(bounds.gt, {
      error: says(`${name} must be greater than ${bounds.gt}`, fix),
    });
  if (bounds.min !== undefined)
    schema = schema.min(bounds.min, { error: says(`${name} must be at least ${bounds.min}`, fix) });
  if (bounds.max !== undefined)
    schema = schema.max(bounds.max, { error: says(`${name} must be at most ${bounds.max}`, fix) });
  return schema;
}

/** The top-level error of a method's options object. */
export function optionsObjectError(method: string, example: string) {
  return objectError(
    `balanceOptions must be an object of '${method}' options`,
    `Write e.g. balanceOptions: ${example}.`,
  );
}
