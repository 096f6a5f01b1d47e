import { useState, type FormEvent } from 'react';
import type { KeyCreated } from '../../../api/types';
import { fieldErrors } from '../../../api/errors';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { FieldErrors } from '../../../components/FieldErrors';
import { Pending } from '../../../components/Pending';
import { formatDateTime } from '../../../lib/format';
import { useCreateIngestKey, useIngestKeys, useRevokeIngestKey } from '../hooks/useIngestKeys';

function SecretOnce({ created, onDone }: { created: KeyCreated; onDone: () => void }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Could not copy; select the secret and copy it by hand.');
    }
  };
  return (
    <div className="notice notice-warn" role="alert">
      <p>
        <strong>Copy the secret of “{created.name}” now.</strong> It is shown this once and cannot be shown again; if it
        is lost, revoke the key and create a new one.
      </p>
      <p className="secret" aria-label="Secret">
        {created.secret}
      </p>
      <div className="actions">
        <button type="button" className="btn" onClick={() => void copy()}>
          Copy secret
        </button>
        <button type="button" className="btn" onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p role="status" aria-live="polite">
        {copied}
      </p>
    </div>
  );
}

export function KeysSection() {
  const keys = useIngestKeys();
  const create = useCreateIngestKey();
  const revoke = useRevokeIngestKey();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<KeyCreated | null>(null);
  const errs = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim() },
      {
        onSuccess: (k) => {
          setCreated(k);
          setName('');
        },
      },
    );
  };

  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">Ingest keys</h2>
      {created ? <SecretOnce created={created} onDone={() => setCreated(null)} /> : null}
      <ErrorNotice error={keys.error} title="Could not load keys." />
      {keys.isPending ? <Pending /> : null}
      {keys.data ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Created</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td>{formatDateTime(k.created_at)}</td>
                  <td>{k.revoked_at ? `revoked ${formatDateTime(k.revoked_at)}` : 'active'}</td>
                  <td>
                    {k.revoked_at ? null : (
                      <button
                        type="button"
                        className="btn"
                        disabled={revoke.isPending}
                        onClick={() => {
                          if (window.confirm(`Revoke “${k.name}”? Ad servers using it will be refused.`)) revoke.mutate(k.id);
                        }}
                      >
                        Revoke<span className="visually-hidden"> {k.name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorNotice error={revoke.error} title="Could not revoke." />
      <form onSubmit={submit} noValidate aria-labelledby="nk-title" className="form">
        <h3 id="nk-title">New key</h3>
        <div className="field">
          <label htmlFor="nk-name">What the key is for</label>
          <input id="nk-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} aria-describedby="nk-name-errors" />
          <FieldErrors id="nk-name-errors" messages={errs.name} />
        </div>
        {create.error && Object.keys(errs).length === 0 ? <ErrorNotice error={create.error} /> : null}
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create key
        </button>
      </form>
    </section>
  );
}
