import { useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../../../api/errors';
import { CampaignPicker } from '../../../components/CampaignPicker';
import { useUploadCreative } from '../hooks/useUploadCreative';

interface Item {
  file: File;
  loaded: number;
  total: number;
  state: 'waiting' | 'uploading' | 'done' | 'failed';
  error?: string;
}

function uploadError(e: unknown): string {
  if (e instanceof ApiError && e.errors.length) return e.errors.map((p) => p.message).join('; ');
  return describeError(e);
}

/** Several files to one campaign, one after another, each with its progress and error. */
export function UploadPanel({ initialCampaign }: { initialCampaign: string }) {
  const [campaignId, setCampaignId] = useState(initialCampaign);
  const [items, setItems] = useState<Item[]>([]);
  const [running, setRunning] = useState(false);
  const upload = useUploadCreative();

  const patch = (i: number, p: Partial<Item>) => setItems((all) => all.map((it, j) => (j === i ? { ...it, ...p } : it)));

  const start = async (e: FormEvent) => {
    e.preventDefault();
    if (!campaignId || running) return;
    setRunning(true);
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.state === 'done') continue;
      patch(i, { state: 'uploading', loaded: 0, error: undefined });
      try {
        await upload.mutateAsync({
          campaignId,
          file: it.file,
          onProgress: ({ loaded, total }) => patch(i, { loaded, total }),
        });
        patch(i, { state: 'done', loaded: it.file.size, total: it.file.size });
      } catch (err) {
        patch(i, { state: 'failed', error: uploadError(err) });
      }
    }
    setRunning(false);
  };

  const done = items.filter((i) => i.state === 'done').length;
  return (
    <form className="card" onSubmit={(e) => void start(e)} aria-labelledby="up-title">
      <h2 id="up-title">Upload creatives</h2>
      <div className="row">
        <CampaignPicker id="up-campaign" label="To campaign" value={campaignId} onChange={setCampaignId} required />
        <div className="field">
          <label htmlFor="up-files">Images (PNG, JPEG, GIF, WebP)</label>
          <input
            id="up-files"
            type="file"
            multiple
            accept="image/png,image/jpeg,image/gif,image/webp"
            onChange={(e) =>
              setItems(
                [...(e.target.files ?? [])].map((file) => ({ file, loaded: 0, total: file.size, state: 'waiting' as const })),
              )
            }
          />
        </div>
      </div>
      {items.length ? (
        <ul className="upload-list" aria-label="Files">
          {items.map((it, i) => (
            <li key={`${it.file.name}-${i}`}>
              <span>{it.file.name}</span>
              <progress
                max={it.total || 1}
                value={it.state === 'done' ? it.total || 1 : it.loaded}
                aria-label={`Upload of ${it.file.name}`}
              />
              <span className={it.state === 'failed' ? 'error-text' : 'hint'}>
                {it.state === 'failed' ? it.error : it.state === 'uploading' ? `${Math.round((100 * it.loaded) / (it.total || 1))} %` : it.state}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <p className="live-region" role="status" aria-live="polite">
        {items.length && !running && done ? `${done} of ${items.length} uploaded.` : ''}
      </p>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={!campaignId || items.length === 0 || running}>
          {running ? 'Uploading…' : 'Upload'}
        </button>
      </div>
    </form>
  );
}
