import type { AlertRule, AlertRuleBody } from '../../../api/types';
import { buildCondition, emptyCondition, parseNumber, readCondition, type GroupNode } from './condition';

export type ScopeKind = 'tenant' | 'campaign' | 'brand';
export type TimeUnit = 'seconds' | 'minutes';

/** The rule form as typed. */
export interface RuleFormValues {
  name: string;
  scope: ScopeKind;
  campaign_id: string;
  brand_id: string;
  condition: GroupNode;
  for_value: string;
  for_unit: TimeUnit;
  cooldown_value: string;
  cooldown_unit: TimeUnit;
  /** Empty: the API's default message. */
  message_template: string;
  channel_ids: string[];
  enabled: boolean;
}

export function emptyRuleForm(): RuleFormValues {
  return {
    name: '',
    scope: 'tenant',
    campaign_id: '',
    brand_id: '',
    condition: emptyCondition(),
    for_value: '0',
    for_unit: 'seconds',
    cooldown_value: '15',
    cooldown_unit: 'minutes',
    message_template: '',
    channel_ids: [],
    enabled: true,
  };
}

/** Whole minutes when they are, else seconds. */
function duration(secs: number): [string, TimeUnit] {
  return secs > 0 && secs % 60 === 0 ? [String(secs / 60), 'minutes'] : [String(secs), 'seconds'];
}

export function formFromRule(r: AlertRule): RuleFormValues {
  const [for_value, for_unit] = duration(r.for_secs ?? 0);
  const [cooldown_value, cooldown_unit] = duration(r.cooldown_secs ?? 900);
  return {
    name: r.name,
    scope: r.campaign_id ? 'campaign' : r.brand_id ? 'brand' : 'tenant',
    campaign_id: r.campaign_id ?? '',
    brand_id: r.brand_id ?? '',
    condition: readCondition(r.condition),
    for_value,
    for_unit,
    cooldown_value,
    cooldown_unit,
    message_template: r.message_template ?? '',
    channel_ids: [...(r.channel_ids ?? [])],
    enabled: r.enabled ?? true,
  };
}

function seconds(value: string, unit: TimeUnit): number {
  const n = parseNumber(value);
  if (n === null) return 0;
  const s = unit === 'minutes' ? n * 60 : n;
  return Number.isInteger(s) && s >= 0 ? s : Number.NaN;
}

export interface RuleSubmission {
  body: AlertRuleBody;
  /** API path of every condition node as sent → its key. */
  paths: Record<string, string>;
}

/**
 * The body to send and the condition's paths, or the problems the
 * browser can already tell (by API field path, as a 422 would name them).
 */
export function bodyFromForm(
  v: RuleFormValues,
): RuleSubmission | { errors: Record<string, string[]>; paths: Record<string, string> } {
  const built = buildCondition(v.condition);
  const errors: Record<string, string[]> = { ...built.errors };
  const forSecs = seconds(v.for_value, v.for_unit);
  const cooldownSecs = seconds(v.cooldown_value, v.cooldown_unit);
  if (Number.isNaN(forSecs)) errors.for_secs = ['must be a whole number of seconds, 0 or more'];
  if (Number.isNaN(cooldownSecs)) errors.cooldown_secs = ['must be a whole number of seconds, 0 or more'];
  if (v.scope === 'campaign' && !v.campaign_id) errors.campaign_id = ['choose a campaign'];
  if (Object.keys(errors).length > 0) return { errors, paths: built.paths };
  return {
    paths: built.paths,
    body: {
      name: v.name,
      campaign_id: v.scope === 'campaign' ? v.campaign_id : null,
      brand_id: v.scope === 'brand' ? v.brand_id : null,
      // The schema leaves the condition untyped (`object`).
      condition: built.condition as unknown as AlertRuleBody['condition'],
      for_secs: forSecs,
      cooldown_secs: cooldownSecs,
      message_template: v.message_template.trim() === '' ? null : v.message_template,
      channel_ids: v.channel_ids,
      enabled: v.enabled,
    },
  };
}

/** Seconds for people: `90 s`, `15 min`, `2 h`. */
export function formatSecs(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s === 0) return 'none';
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** What a message template can use (`crates/domain/src/alert/message.rs`). */
export const TEMPLATE_VARIABLES: [string, string][] = [
  ['{{ rule.name }}', "the rule's name (also rule.id)"],
  ['{{ campaign.name }}', 'the campaign (also campaign.id, campaign.brand_id)'],
  ['{{ state }}', 'firing or resolved'],
  ['{{ at }}', 'when, RFC 3339'],
  [
    '{% for c in values %}…{% endfor %}',
    'every comparison: c.metric, c.over, c.op, c.threshold (the rule’s value), c.value (none when undefined)',
  ],
];
