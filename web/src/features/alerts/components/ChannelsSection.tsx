import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { AlertChannel, AlertChannelKind } from '../../../api/types';
import { fieldErrors } from '../../../api/errors';
import { Dialog } from '../../../components/Dialog';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { FieldErrors } from '../../../components/FieldErrors';
import { Pending } from '../../../components/Pending';
import { formatDateTime } from '../../../lib/format';
import { rulesInUse } from '../api/channels';
import { useChannels, useCreateChannel, useDeleteChannel, useRotateSecret } from '../hooks/useChannels';
import { SecretDialog } from './SecretDialog';

const KINDS: [AlertChannelKind, string, string][] = [
  ['webhook', 'Webhook', 'An http(s) URL; each delivery is a signed POST (Standard Webhooks).'],
  ['slack', 'Slack', 'A Slack incoming-webhook URL (https); it is a credential, so lists show it masked.'],
  ['email', 'E-mail', 'An e-mail address.'],
];

/** The tenant's notification channels: list, create, delete, rotate a webhook's secret. */
export function ChannelsSection({ manage, ruleName }: { manage: boolean; ruleName: (id: string) => string | undefined }) {
  const channels = useChannels();
  const create = useCreateChannel();
  const rotate = useRotateSecret();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<AlertChannelKind>('webhook');
  const [target, setTarget] = useState('');
  const [secret, setSecret] = useState<{ channel: AlertChannel; rotated: boolean } | null>(null);
  const [deleting, setDeleting] = useState<AlertChannel | null>(null);
  const [said, setSaid] = useState('');
  const errs = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaid('');
    create.mutate(
      { name: name.trim(), kind, target: target.trim() },
      {
        onSuccess: (c) => {
          setName('');
          setTarget('');
          setSaid(`Channel “${c.name}” created.`);
          if (c.secret) setSecret({ channel: c, rotated: false });
        },
      },
    );
  };

  const attrs = (f: string) =>
    errs[f]?.length ? ({ 'aria-invalid': true, 'aria-describedby': `nc-${f}-errors` } as const) : {};

  return (
    <section className="card" aria-labelledby="channels-title" id="channels">
      <h2 id="channels-title">Channels</h2>
      <p className="hint">Where rules send their notifications. A channel can be deleted once no rule uses it.</p>
      <ErrorNotice error={channels.error} title="Could not load channels." />
      {channels.isPending ? <Pending /> : null}
      {channels.data ? (
        <div className="table-wrap">
          <table aria-label="Channels">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Target</th>
                <th scope="col">Signing</th>
                <th scope="col">Created</th>
                {manage ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {channels.data.data.length === 0 ? (
                <tr>
                  <td colSpan={manage ? 6 : 5}>No channels yet.</td>
                </tr>
              ) : null}
              {channels.data.data.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td>{c.kind}</td>
                  <td className="mono wrap">{c.target}</td>
                  <td>
                    {c.signed
                      ? c.previous_secret_until
                        ? `signed; previous secret too until ${formatDateTime(c.previous_secret_until)}`
                        : 'signed'
                      : '—'}
                  </td>
                  <td>{formatDateTime(c.created_at)}</td>
                  {manage ? (
                    <td>
                      <div className="actions-cell">
                      {c.signed ? (
                        <button
                          type="button"
                          className="btn"
                          disabled={rotate.isPending}
                          onClick={() => rotate.mutate(c.id, { onSuccess: (r) => setSecret({ channel: r, rotated: true }) })}
                        >
                          Rotate secret{' '}<span className="visually-hidden">of {c.name}</span>
                        </button>
                      ) : null}
                      <button type="button" className="btn" onClick={() => setDeleting(c)}>
                        Delete{' '}<span className="visually-hidden">{c.name}</span>
                      </button>
                      </div>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorNotice error={rotate.error} title="Could not rotate the secret." />

      {manage ? (
        <form onSubmit={submit} noValidate aria-labelledby="nc-title" className="form">
          <h3 id="nc-title">New channel</h3>
          <div className="row">
            <div className="field">
              <label htmlFor="nc-name">Channel name</label>
              <input id="nc-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} {...attrs('name')} />
              <FieldErrors id="nc-name-errors" messages={errs.name} />
            </div>
            <div className="field">
              <label htmlFor="nc-kind">Kind</label>
              <select id="nc-kind" value={kind} onChange={(e) => setKind(e.target.value as AlertChannelKind)} {...attrs('kind')}>
                {KINDS.map(([k, label]) => (
                  <option key={k} value={k}>
                    {label}
                  </option>
                ))}
              </select>
              <FieldErrors id="nc-kind-errors" messages={errs.kind} />
            </div>
            <div className="field grow">
              <label htmlFor="nc-target">Target</label>
              <input
                id="nc-target"
                value={target}
                onChange={(e) => setTarget(e.target.value)}
                inputMode={kind === 'email' ? 'email' : 'url'}
                aria-invalid={errs.target?.length ? true : undefined}
                aria-describedby={['nc-target-hint', errs.target?.length ? 'nc-target-errors' : ''].filter(Boolean).join(' ')}
              />
              <span className="hint" id="nc-target-hint">
                {KINDS.find(([k]) => k === kind)?.[2]}
              </span>
              <FieldErrors id="nc-target-errors" messages={errs.target} />
            </div>
          </div>
          {create.error && Object.keys(errs).length === 0 ? <ErrorNotice error={create.error} /> : null}
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            Create channel
          </button>
          <p role="status" aria-live="polite" className="live-region">
            {said}
          </p>
        </form>
      ) : null}

      {secret ? <SecretDialog channel={secret.channel} rotated={secret.rotated} onClose={() => setSecret(null)} /> : null}
      {deleting ? <DeleteChannelDialog channel={deleting} ruleName={ruleName} onClose={() => setDeleting(null)} /> : null}
    </section>
  );
}

function DeleteChannelDialog({
  channel,
  ruleName,
  onClose,
}: {
  channel: AlertChannel;
  ruleName: (id: string) => string | undefined;
  onClose: () => void;
}) {
  const del = useDeleteChannel();
  const users = rulesInUse(del.error);
  return (
    <Dialog title="Delete channel?" onClose={onClose}>
      <p>“{channel.name}” will be deleted; rules can no longer notify it.</p>
      {users.length > 0 ? (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>
              “{channel.name}” is still notified by {users.length === 1 ? 'a rule' : `${users.length} rules`}.
            </strong>{' '}
            Remove it from {users.length === 1 ? 'that rule' : 'them'} first:
          </p>
          <ul>
            {users.map((id) => (
              <li key={id}>
                <Link to={`/alerts/${id}`}>{ruleName(id) ?? `rule ${id}`}</Link>
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <ErrorNotice error={del.error} title="Could not delete." />
      )}
      <div className="actions">
        <button
          type="button"
          className="btn btn-danger"
          disabled={del.isPending || users.length > 0}
          onClick={() => del.mutate(channel.id, { onSuccess: onClose })}
        >
          Delete
        </button>
        <button type="button" className="btn" onClick={onClose}>
          {users.length > 0 ? 'Close' : 'Cancel'}
        </button>
      </div>
    </Dialog>
  );
}
