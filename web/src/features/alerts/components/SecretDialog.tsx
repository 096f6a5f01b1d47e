import { useState } from 'react';
import type { AlertChannel } from '../../../api/types';
import { Dialog } from '../../../components/Dialog';
import { formatDateTime } from '../../../lib/format';

/** A webhook channel's signing secret, shown this once, with a copy button. */
export function SecretDialog({ channel, rotated, onClose }: { channel: AlertChannel; rotated: boolean; onClose: () => void }) {
  const [said, setSaid] = useState('');
  const secret = channel.secret ?? '';
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setSaid('Copied to the clipboard.');
    } catch {
      setSaid('Could not copy; select the secret and copy it by hand.');
    }
  };
  return (
    <Dialog title={`Signing secret of “${channel.name}”`} onClose={onClose}>
      <div className="notice notice-warn">
        <p>
          <strong>Copy it now.</strong> It is shown this once and cannot be shown again; if it is lost, rotate the secret.
        </p>
        <p>Receivers check each delivery's signature with it (Standard Webhooks).</p>
        {rotated && channel.previous_secret_until ? (
          <p>The previous secret keeps signing too until {formatDateTime(channel.previous_secret_until)}.</p>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor="secret-value">Signing secret</label>
        <input id="secret-value" className="secret" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <div className="actions">
        <button type="button" className="btn" onClick={() => void copy()}>
          Copy secret
        </button>
        <button type="button" className="btn btn-primary" onClick={onClose}>
          I have stored it
        </button>
      </div>
      <p role="status" aria-live="polite" className="live-region">
        {said}
      </p>
    </Dialog>
  );
}
