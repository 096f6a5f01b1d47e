import { useCampaignOptions } from '../hooks/useCampaignOptions';

/** A <select> of the tenant's campaigns (by name). */
export function CampaignPicker({
  id,
  value,
  onChange,
  allowAll,
  label = 'Campaign',
  required,
}: {
  id: string;
  value: string;
  onChange: (id: string) => void;
  allowAll?: boolean;
  label?: string;
  required?: boolean;
}) {
  const { data, isPending, error } = useCampaignOptions();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} required={required}>
        {allowAll ? <option value="">All campaigns</option> : <option value="">Choose a campaign…</option>}
        {(data ?? []).map((c) => (
          <option key={c.id} value={c.id}>
            {c.name} ({c.status})
          </option>
        ))}
      </select>
      {isPending ? <span className="hint">Loading campaigns…</span> : null}
      {error ? <span className="hint error-text">Could not load campaigns.</span> : null}
    </div>
  );
}
