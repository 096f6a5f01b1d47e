import { useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { fieldErrors, errorsUnder, ApiError, describeError } from '../../../api/errors';
import { FieldErrors } from '../../../components/FieldErrors';
import { timeZones } from '../../../lib/format';
import { CHANNELS, FIELD_OF, OBJECTIVES, type CampaignFormValues } from '../api/form';

type FieldName = keyof CampaignFormValues;

/**
 * The campaign form. It owns what the user types; the parent decides what
 * a submit does and passes the API's error back, whose 422 field problems
 * are shown next to their fields.
 */
export function CampaignForm({
  initial,
  onSubmit,
  error,
  localErrors,
  submitting,
  submitLabel,
  banner,
}: {
  initial: CampaignFormValues;
  onSubmit: (values: CampaignFormValues) => void;
  error: unknown;
  localErrors?: Record<string, string[]> | undefined;
  submitting: boolean;
  submitLabel: string;
  banner?: ReactNode;
}) {
  const [v, setV] = useState<CampaignFormValues>(initial);
  const zones = useMemo(timeZones, []);
  const apiErrors = fieldErrors(error);

  // API field paths → form fields; lists keep their item paths.
  const byField: Partial<Record<FieldName, string[]>> = { ...localErrors };
  const unplaced: string[] = [];
  for (const [path, msgs] of Object.entries(apiErrors)) {
    const f = FIELD_OF[path];
    if (f) byField[f] = [...(byField[f] ?? []), ...msgs];
    else if (!path.startsWith('objectives') && !path.startsWith('channels')) unplaced.push(...msgs.map((m) => `${path}: ${m}`));
  }
  byField.objectives = errorsUnder(apiErrors, 'objectives');
  byField.channels = errorsUnder(apiErrors, 'channels');

  const set = <K extends FieldName>(k: K, value: CampaignFormValues[K]) => setV((p) => ({ ...p, [k]: value }));
  const toggle = (k: 'objectives' | 'channels', item: string) =>
    setV((p) => ({ ...p, [k]: p[k].includes(item) ? p[k].filter((x) => x !== item) : [...p[k], item] }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(v);
  };

  const input = (name: FieldName, label: string, props: Record<string, unknown> = {}) => {
    const id = `cf-${name}`;
    const errs = byField[name];
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <input
          id={id}
          name={name}
          value={v[name] as string}
          onChange={(e) => set(name, e.target.value as never)}
          aria-invalid={errs?.length ? true : undefined}
          aria-describedby={errs?.length ? `${id}-errors` : undefined}
          {...props}
        />
        <FieldErrors id={`${id}-errors`} messages={errs} />
      </div>
    );
  };

  const is422 = error instanceof ApiError && error.status === 422;
  const otherError = error && !is422 && !(error instanceof ApiError && error.status === 412) ? error : null;

  return (
    <form className="card form" onSubmit={submit} noValidate aria-label="Campaign">
      {banner}
      {is422 ? (
        <div className="notice notice-error" role="alert">
          Some fields need attention.
          {unplaced.length ? (
            <ul>
              {unplaced.map((m, i) => (
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

      {input('name', 'Name', { required: true, maxLength: 200 })}
      {input('brand_id', 'Brand')}

      <fieldset>
        <legend>Budget</legend>
        <div className="row">
          {input('budget_total', 'Total budget', { inputMode: 'decimal' })}
          {input('currency', 'Currency (ISO 4217)', { maxLength: 3, className: 'short' })}
          {input('daily_cap', 'Daily cap', { inputMode: 'decimal' })}
        </div>
      </fieldset>

      <fieldset>
        <legend>Schedule</legend>
        <div className="row">
          {input('start', 'Start (your local time)', { type: 'datetime-local' })}
          {input('end', 'End (your local time)', { type: 'datetime-local' })}
          {input('timezone', 'Campaign time zone', { list: 'cf-zones' })}
        </div>
        <datalist id="cf-zones">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </fieldset>

      <fieldset aria-describedby={byField.objectives?.length ? 'cf-objectives-errors' : undefined}>
        <legend>Objectives</legend>
        <div className="checks">
          {OBJECTIVES.map((o) => (
            <label key={o} className="check">
              <input type="checkbox" checked={v.objectives.includes(o)} onChange={() => toggle('objectives', o)} />
              {o}
            </label>
          ))}
        </div>
        <FieldErrors id="cf-objectives-errors" messages={byField.objectives} />
      </fieldset>

      <fieldset aria-describedby={byField.channels?.length ? 'cf-channels-errors' : undefined}>
        <legend>Channels</legend>
        <div className="checks">
          {CHANNELS.map((c) => (
            <label key={c} className="check">
              <input type="checkbox" checked={v.channels.includes(c)} onChange={() => toggle('channels', c)} />
              {c}
            </label>
          ))}
        </div>
        <FieldErrors id="cf-channels-errors" messages={byField.channels} />
      </fieldset>

      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={submitting}>
          {submitting ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}
