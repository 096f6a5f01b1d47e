import { useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import type { AlertRuleBody } from '../../../api/types';
import { ApiError, describeError, fieldErrors } from '../../../api/errors';
import { CampaignPicker } from '../../../components/CampaignPicker';
import { FieldErrors } from '../../../components/FieldErrors';
import { placeConditionErrors, parseNumber, type GroupNode } from '../api/condition';
import { bodyFromForm, TEMPLATE_VARIABLES, type RuleFormValues, type ScopeKind, type TimeUnit } from '../api/form';
import { useChannels } from '../hooks/useChannels';
import { ConditionEditor } from './ConditionEditor';

/** Form fields by API field path (422 `errors[].field`); `condition…` goes to the editor. */
const FIELDS = ['name', 'campaign_id', 'brand_id', 'for_secs', 'cooldown_secs', 'message_template', 'channel_ids'] as const;
type Field = (typeof FIELDS)[number];

const SCOPES: [ScopeKind, string][] = [
  ['tenant', 'Every campaign'],
  ['campaign', 'One campaign'],
  ['brand', "One brand's campaigns"],
];

/** A duration typed in one unit, shown in the other. */
function convert(value: string, from: TimeUnit, to: TimeUnit): string {
  const n = parseNumber(value);
  if (n === null || Number.isNaN(n) || from === to) return value;
  const secs = from === 'minutes' ? n * 60 : n;
  return String(to === 'minutes' ? Number((secs / 60).toFixed(4)) : Math.round(secs));
}

/**
 * The rule builder. It owns what the user types and turns it into the
 * body; the parent decides what a submit does and passes the API's error
 * back, whose 422 problems are shown next to their fields (condition
 * problems on the row and field their path names).
 */
export function RuleForm({
  initial,
  onSubmit,
  error,
  submitting,
  submitLabel,
  banner,
}: {
  initial: RuleFormValues;
  onSubmit: (body: AlertRuleBody) => void;
  error: unknown;
  submitting: boolean;
  submitLabel: string;
  banner?: ReactNode;
}) {
  const [v, setV] = useState<RuleFormValues>(initial);
  // What the browser found at the last submit, and the condition's paths as sent then.
  const [local, setLocal] = useState<Record<string, string[]>>({});
  const [paths, setPaths] = useState<Record<string, string>>({});
  const channels = useChannels();

  // The browser's findings of the last submit, else the API's answer to it.
  const hasLocal = Object.keys(local).length > 0;
  const all: Record<string, string[]> = hasLocal ? local : fieldErrors(error);
  const byField: Partial<Record<Field, string[]>> = {};
  const other: string[] = [];
  for (const [path, msgs] of Object.entries(all)) {
    if ((FIELDS as readonly string[]).includes(path)) byField[path as Field] = msgs;
    else if (path.startsWith('channel_ids')) byField.channel_ids = [...(byField.channel_ids ?? []), ...msgs];
    else if (path !== 'condition' && !path.startsWith('condition.')) other.push(...msgs.map((m) => `${path}: ${m}`));
  }
  const cond = placeConditionErrors(all, paths);

  const set = <K extends keyof RuleFormValues>(k: K, value: RuleFormValues[K]) => setV((p) => ({ ...p, [k]: value }));
  const toggleChannel = (id: string) =>
    setV((p) => ({ ...p, channel_ids: p.channel_ids.includes(id) ? p.channel_ids.filter((x) => x !== id) : [...p.channel_ids, id] }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const r = bodyFromForm(v);
    setPaths(r.paths);
    if ('errors' in r) {
      setLocal(r.errors);
      return;
    }
    setLocal({});
    onSubmit(r.body);
  };

  const attrs = (f: Field) => {
    const has = (byField[f]?.length ?? 0) > 0;
    return { 'aria-invalid': has ? true : undefined, 'aria-describedby': has ? `rf-${f}-errors` : undefined } as const;
  };
  const is422 = error instanceof ApiError && error.status === 422;
  const otherError = !hasLocal && error && !is422 && !(error instanceof ApiError && error.status === 412) ? error : null;

  return (
    <form className="card form rule-form" onSubmit={submit} noValidate aria-label="Alert rule">
      {banner}
      {is422 || hasLocal ? (
        <div className="notice notice-error" role="alert">
          Some fields need attention.
          {other.length ? (
            <ul>
              {other.map((m, i) => (
                <li key={i}>{m}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {otherError ? (
        <div className="notice notice-error" role="alert">
          {describeError(otherError)}
        </div>
      ) : null}

      <div className="field">
        <label htmlFor="rf-name">Name</label>
        <input id="rf-name" value={v.name} maxLength={200} onChange={(e) => set('name', e.target.value)} {...attrs('name')} />
        <FieldErrors id="rf-name-errors" messages={byField.name} />
      </div>

      <fieldset>
        <legend>Watch</legend>
        <div className="checks">
          {SCOPES.map(([k, label]) => (
            <label key={k} className="check">
              <input type="radio" name="rf-scope" value={k} checked={v.scope === k} onChange={() => set('scope', k)} />
              {label}
            </label>
          ))}
        </div>
        {v.scope === 'campaign' ? (
          <CampaignPicker id="rf-campaign_id" value={v.campaign_id} onChange={(id) => set('campaign_id', id)} errors={byField.campaign_id} />
        ) : null}
        {v.scope === 'brand' ? (
          <div className="field">
            <label htmlFor="rf-brand_id">Brand</label>
            <input id="rf-brand_id" value={v.brand_id} maxLength={200} onChange={(e) => set('brand_id', e.target.value)} {...attrs('brand_id')} />
            <FieldErrors id="rf-brand_id-errors" messages={byField.brand_id} />
          </div>
        ) : null}
        {v.scope !== 'campaign' ? <FieldErrors id="rf-campaign_id-errors" messages={byField.campaign_id} /> : null}
      </fieldset>

      <ConditionEditor
        value={v.condition}
        onChange={(c: GroupNode) => set('condition', c)}
        errors={cond.byNode}
        unplaced={cond.unplaced}
      />

      <fieldset>
        <legend>Timing</legend>
        <div className="row">
          <Duration
            id="for_secs"
            label="Hold for"
            hint="How long the condition must hold before the rule fires (0: at once)."
            value={v.for_value}
            unit={v.for_unit}
            onChange={(value, unit) => setV((p) => ({ ...p, for_value: value, for_unit: unit }))}
            errors={byField.for_secs}
          />
          <Duration
            id="cooldown_secs"
            label="Cooldown"
            hint="At most one notification per cooldown (a week at most)."
            value={v.cooldown_value}
            unit={v.cooldown_unit}
            onChange={(value, unit) => setV((p) => ({ ...p, cooldown_value: value, cooldown_unit: unit }))}
            errors={byField.cooldown_secs}
          />
        </div>
      </fieldset>

      <div className="field">
        <label htmlFor="rf-message_template">Message template (optional)</label>
        <textarea
          id="rf-message_template"
          rows={3}
          value={v.message_template}
          onChange={(e) => set('message_template', e.target.value)}
          aria-invalid={byField.message_template?.length ? true : undefined}
          aria-describedby={['rf-template-help', byField.message_template?.length ? 'rf-message_template-errors' : ''].filter(Boolean).join(' ')}
        />
        <FieldErrors id="rf-message_template-errors" messages={byField.message_template} />
        <div id="rf-template-help" className="hint">
          Empty: a line naming the rule, the campaign and every value. Jinja syntax; the variables:
          <ul className="template-vars">
            {TEMPLATE_VARIABLES.map(([code, what]) => (
              <li key={code}>
                <code>{code}</code> {what}
              </li>
            ))}
          </ul>
        </div>
      </div>

      <fieldset aria-describedby={byField.channel_ids?.length ? 'rf-channel_ids-errors' : undefined}>
        <legend>Notify</legend>
        {channels.data && channels.data.data.length > 0 ? (
          <div className="checks">
            {channels.data.data.map((c) => (
              <label key={c.id} className="check">
                <input type="checkbox" checked={v.channel_ids.includes(c.id)} onChange={() => toggleChannel(c.id)} />
                {c.name} ({c.kind})
              </label>
            ))}
          </div>
        ) : null}
        {channels.data
          ? v.channel_ids
              .filter((id) => !channels.data.data.some((c) => c.id === id))
              .map((id) => (
                // Deleted since the rule was saved: shown so it can be unticked.
                <label key={id} className="check">
                  <input type="checkbox" checked onChange={() => toggleChannel(id)} />
                  missing channel {id}
                </label>
              ))
          : null}
        {channels.data && channels.data.data.length === 0 ? (
          <p className="hint">
            No channels yet: add one under <Link to="/alerts">Alerts → Channels</Link>. A rule without channels only records its
            firings.
          </p>
        ) : null}
        {channels.isPending ? <p className="hint">Loading channels…</p> : null}
        {channels.error ? <p className="error-text">Could not load channels: {describeError(channels.error)}</p> : null}
        <FieldErrors id="rf-channel_ids-errors" messages={byField.channel_ids} />
      </fieldset>

      <label className="check">
        <input type="checkbox" checked={v.enabled} onChange={(e) => set('enabled', e.target.checked)} />
        Enabled (evaluated and notifying)
      </label>

      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={submitting}>
          {submitting ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

function Duration({
  id,
  label,
  hint,
  value,
  unit,
  onChange,
  errors,
}: {
  id: string;
  label: string;
  hint: string;
  value: string;
  unit: TimeUnit;
  onChange: (value: string, unit: TimeUnit) => void;
  errors: string[] | undefined;
}) {
  const has = (errors?.length ?? 0) > 0;
  return (
    <div className="field">
      <label htmlFor={`rf-${id}`}>{label}</label>
      <div className="with-unit">
        <input
          id={`rf-${id}`}
          type="number"
          min={0}
          step="any"
          className="short"
          value={value}
          onChange={(e) => onChange(e.target.value, unit)}
          aria-invalid={has ? true : undefined}
          aria-describedby={[`rf-${id}-hint`, has ? `rf-${id}-errors` : ''].filter(Boolean).join(' ')}
        />
        <label htmlFor={`rf-${id}-unit`} className="visually-hidden">
          {label} unit
        </label>
        <select id={`rf-${id}-unit`} value={unit} onChange={(e) => onChange(convert(value, unit, e.target.value as TimeUnit), e.target.value as TimeUnit)}>
          <option value="seconds">seconds</option>
          <option value="minutes">minutes</option>
        </select>
      </div>
      <span className="hint" id={`rf-${id}-hint`}>
        {hint}
      </span>
      <FieldErrors id={`rf-${id}-errors`} messages={errors} />
    </div>
  );
}
