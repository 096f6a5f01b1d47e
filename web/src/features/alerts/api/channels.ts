import { ApiError } from '../../../api/errors';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * The rules a 409 `channel_in_use` names. The API lists them as field
 * problems `{"field": "rules", "message": "rule <id> notifies it"}`, so
 * the ids are read out of the messages.
 */
export function rulesInUse(e: unknown): string[] {
  if (!(e instanceof ApiError) || e.code !== 'channel_in_use') return [];
  return e.errors.flatMap((p) => UUID.exec(p.message)?.[0] ?? []);
}
