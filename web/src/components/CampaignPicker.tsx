import { useCampaignOptions } from '../hooks/useCampaignOptions';
import { FieldErrors } from './FieldErrors';

/** A <select> of the tenant's campaigns (by name), with the API's problems for it, if any. */
export function CampaignPicker({
  id,
  value,
  onChange,
  allowAll,
  label = 'Campaign',
  required,
  errors,
}: {
  id: string;
  value: string;
  onChange: (id: string) => void;
  allowAll?: boolean;
  label?: string;
  required?: boolean;
  errors?: string[] | undefined;
}) {
  const { data, isPending, error } = useCampaignOptions();
  const invalid = (errors?.length ?? 0) > 0;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        required={required}
        aria-invalid={invalid ? true : undefined}
        aria-describedby={invalid ? `${id}-errors` : undefined}
      >
        {allowAll ? <option value="">All campaigns</option> : <option value="">Choose a campaign…</option>}
        {(data ?? []).map((c) => (
          <option key={c.id} value={c.id}>
            {c.name} ({c.status})
          </option>
        ))}
      </select>
      {isPending ? <span className="hint">Loading campaigns…</span> : null}
      {error ? <span className="hint error-text">Could not load campaigns.</span> : null}
      <FieldErrors id={`${id}-errors`} messages={errors} />
    </div>
  );
}
