import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import type { CapPeriod, CapScope, CapWindow, Daypart, Targeting } from '../../../api/types';
import { ApiError, describeError, errorsUnder, fieldErrors } from '../../../api/errors';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { FieldErrors } from '../../../components/FieldErrors';
import { Pending } from '../../../components/Pending';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { DAYS, DEVICE_TYPES, newDaypart, normalizeTargeting, parseCodes, parseSegments } from '../api/targeting';
import { useReplaceTargeting, useTargeting } from '../hooks/useTargeting';
import { ConflictNotice } from '../../../components/ConflictNotice';

/** Who the campaign reaches: read for everyone, edited by managers. */
export function TargetingPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const q = useTargeting(id);
  const [formKey, setFormKey] = useState(0);
  const [baseEtag, setBaseEtag] = useState<string | null>(null);
  const [initial, setInitial] = useState<Targeting | null>(null);

  if (q.isPending) return <Pending />;
  if (q.error) return <ErrorNotice error={q.error} title="Could not load the targeting." />;
  return (
    <section aria-labelledby="tg-title">
      <p>
        <Link to={`/campaigns/${id}`}>← Campaign</Link>
      </p>
      <h1 id="tg-title">Targeting</h1>
      <TargetingEditor
        key={formKey}
        campaignId={id}
        initial={initial ?? q.data.data}
        etag={baseEtag ?? q.data.etag}
        readOnly={!canManageCampaigns(user?.role)}
        onLoadTheirs={async () => {
          const fresh = await q.refetch();
          if (!fresh.data) return;
          setInitial(fresh.data.data);
          setBaseEtag(fresh.data.etag);
          setFormKey((k) => k + 1);
        }}
        onKeepMine={async () => {
          const fresh = await q.refetch();
          if (fresh.data) setBaseEtag(fresh.data.etag);
        }}
      />
    </section>
  );
}

function TargetingEditor({
  campaignId,
  initial,
  etag,
  readOnly,
  onLoadTheirs,
  onKeepMine,
}: {
  campaignId: string;
  initial: Targeting;
  etag: string;
  readOnly: boolean;
  onLoadTheirs: () => Promise<void>;
  onKeepMine: () => Promise<void>;
}) {
  const t0 = normalizeTargeting(initial);
  const [countries, setCountries] = useState(t0.countries.join(', '));
  const [devices, setDevices] = useState<string[]>(t0.device_types);
  const [segments, setSegments] = useState(t0.audience_segments.join('\n'));
  const [dayparts, setDayparts] = useState<Daypart[]>(t0.dayparting);
  const [capOn, setCapOn] = useState(t0.frequency_cap !== null);
  const [capMax, setCapMax] = useState(String(t0.frequency_cap?.max ?? 3));
  const [capPer, setCapPer] = useState<CapPeriod>(t0.frequency_cap?.per ?? 'day');
  const [capScope, setCapScope] = useState<CapScope>(t0.frequency_cap?.scope ?? 'campaign');
  const [capWindow, setCapWindow] = useState<CapWindow>(t0.frequency_cap?.window ?? 'calendar');
  const [saved, setSaved] = useState('');
  const [conflict, setConflict] = useState(false);
  const put = useReplaceTargeting(campaignId);
  const errs = fieldErrors(put.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved('');
    setConflict(false);
    const targeting: Targeting = {
      countries: parseCodes(countries),
      device_types: devices,
      audience_segments: parseSegments(segments),
      dayparting: dayparts,
      frequency_cap: capOn
        ? { max: Number(capMax), per: capPer, scope: capScope, window: capWindow }
        : null,
    };
    put.mutate(
      { targeting, etag },
      {
        onSuccess: () => setSaved('Targeting saved.'),
        onError: (err) => {
          if (err instanceof ApiError && err.status === 412) setConflict(true);
        },
      },
    );
  };

  const setPart = (i: number, p: Partial<Daypart>) =>
    setDayparts((all) => all.map((d, j) => (j === i ? { ...d, ...p } : d)));
  const err = put.error;
  const generic = err && !(err instanceof ApiError && (err.status === 412 || err.status === 422));

  return (
    <form className="card form" onSubmit={submit} noValidate aria-label="Targeting">
      {conflict ? (
        <ConflictNotice
          what="campaign"
          onLoadTheirs={() => {
            put.reset();
            void onLoadTheirs();
          }}
          onKeepMine={() => {
            put.reset();
            setConflict(false);
            void onKeepMine();
          }}
        />
      ) : null}
      {err instanceof ApiError && err.status === 422 ? (
        <div className="notice notice-error" role="alert">
          Some fields need attention.
        </div>
      ) : null}
      {generic ? (
        <div className="notice notice-error" role="alert">
          {describeError(err)}
        </div>
      ) : null}
      <fieldset disabled={readOnly} className="plain">
        <div className="field">
          <label htmlFor="tg-countries">Countries (ISO codes, comma-separated; empty for all)</label>
          <input
            id="tg-countries"
            value={countries}
            onChange={(e) => setCountries(e.target.value)}
            placeholder="DE, FR, US"
            aria-describedby="tg-countries-errors"
          />
          <FieldErrors id="tg-countries-errors" messages={errorsUnder(errs, 'countries')} />
        </div>

        <fieldset>
          <legend>Devices (none checked: all)</legend>
          <div className="checks">
            {DEVICE_TYPES.map((d) => (
              <label key={d} className="check">
                <input
                  type="checkbox"
                  checked={devices.includes(d)}
                  onChange={() => setDevices((all) => (all.includes(d) ? all.filter((x) => x !== d) : [...all, d]))}
                />
                {d}
              </label>
            ))}
          </div>
          <FieldErrors id="tg-devices-errors" messages={errorsUnder(errs, 'device_types')} />
        </fieldset>

        <div className="field">
          <label htmlFor="tg-segments">Audience segments (one per line)</label>
          <textarea
            id="tg-segments"
            rows={4}
            value={segments}
            onChange={(e) => setSegments(e.target.value)}
            aria-describedby="tg-segments-errors"
          />
          <FieldErrors id="tg-segments-errors" messages={errorsUnder(errs, 'audience_segments')} />
        </div>

        <fieldset>
          <legend>Dayparting (in the campaign's time zone; none: any time)</legend>
          {dayparts.map((d, i) => (
            <div key={i} className="daypart" role="group" aria-label={`Daypart ${i + 1}`}>
              <div className="checks">
                {DAYS.map((day) => (
                  <label key={day} className="check">
                    <input
                      type="checkbox"
                      checked={d.days.includes(day)}
                      onChange={() =>
                        setPart(i, { days: d.days.includes(day) ? d.days.filter((x) => x !== day) : [...d.days, day] })
                      }
                    />
                    {day}
                  </label>
                ))}
              </div>
              <div className="field inline">
                <label htmlFor={`tg-dp-${i}-start`}>From</label>
                <input id={`tg-dp-${i}-start`} type="time" value={d.start} onChange={(e) => setPart(i, { start: e.target.value })} />
              </div>
              <div className="field inline">
                <label htmlFor={`tg-dp-${i}-end`}>Until</label>
                <input
                  id={`tg-dp-${i}-end`}
                  value={d.end}
                  pattern="[0-2][0-9]:[0-5][0-9]"
                  placeholder="HH:MM (24:00 allowed)"
                  onChange={(e) => setPart(i, { end: e.target.value })}
                />
              </div>
              <button type="button" className="btn btn-ghost" onClick={() => setDayparts((all) => all.filter((_, j) => j !== i))}>
                Remove daypart {i + 1}
              </button>
              <FieldErrors id={`tg-dp-${i}-errors`} messages={errorsUnder(errs, `dayparting[${i}]`)} />
            </div>
          ))}
          <button type="button" className="btn" onClick={() => setDayparts((all) => [...all, newDaypart()])}>
            Add daypart
          </button>
          <FieldErrors id="tg-dp-errors" messages={errs.dayparting} />
        </fieldset>

        <fieldset>
          <legend>Frequency cap</legend>
          <label className="check">
            <input type="checkbox" checked={capOn} onChange={(e) => setCapOn(e.target.checked)} />
            Limit how often one person sees this campaign
          </label>
          {capOn ? (
            <div className="row">
              <div className="field">
                <label htmlFor="tg-cap-max">At most (1–1000)</label>
                <input id="tg-cap-max" type="number" min={1} max={1000} value={capMax} onChange={(e) => setCapMax(e.target.value)} aria-describedby="tg-cap-errors" />
              </div>
              <div className="field">
                <label htmlFor="tg-cap-per">Per</label>
                <select id="tg-cap-per" value={capPer} onChange={(e) => setCapPer(e.target.value as CapPeriod)}>
                  <option value="hour">hour</option>
                  <option value="day">day</option>
                  <option value="week">week</option>
                </select>
              </div>
              <div className="field">
                <label htmlFor="tg-cap-scope">Counting</label>
                <select id="tg-cap-scope" value={capScope} onChange={(e) => setCapScope(e.target.value as CapScope)}>
                  <option value="campaign">all ads of the campaign</option>
                  <option value="ad">each ad separately</option>
                </select>
              </div>
              <div className="field">
                <label htmlFor="tg-cap-window">Windows</label>
                <select id="tg-cap-window" value={capWindow} onChange={(e) => setCapWindow(e.target.value as CapWindow)}>
                  <option value="calendar">calendar (campaign time zone)</option>
                  <option value="rolling">rolling</option>
                </select>
              </div>
            </div>
          ) : null}
          <FieldErrors id="tg-cap-errors" messages={errorsUnder(errs, 'frequency_cap')} />
        </fieldset>
      </fieldset>
      {readOnly ? (
        <p className="muted">Your role can view targeting but not change it.</p>
      ) : (
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={put.isPending}>
            {put.isPending ? 'Saving…' : 'Save targeting'}
          </button>
        </div>
      )}
      <p className="live-region" role="status" aria-live="polite">
        {saved}
      </p>
    </form>
  );
}
