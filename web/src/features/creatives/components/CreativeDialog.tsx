import { useState } from 'react';
import type { Asset } from '../../../api/types';
import { Dialog } from '../../../components/Dialog';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { formatDateTime, formatInt } from '../../../lib/format';
import { useDeleteCreative } from '../hooks/useDeleteCreative';

/** A creative's details; managers and admins may delete it. */
export function CreativeDialog({ asset, canDelete, onClose }: { asset: Asset; canDelete: boolean; onClose: () => void }) {
  const del = useDeleteCreative();
  const [confirm, setConfirm] = useState(false);
  const links = asset._links;
  return (
    <Dialog title={asset.filename} onClose={onClose} wide>
      <div className="row">
        <img
          src={links.w300}
          srcSet={`${links.w150} 150w, ${links.w300} 300w`}
          sizes="300px"
          width={300}
          alt={asset.filename}
          decoding="async"
          style={{ height: 'auto', maxHeight: 300, objectFit: 'contain' }}
        />
        <dl className="props">
          <dt>Type</dt>
          <dd>{asset.content_type}</dd>
          <dt>Size</dt>
          <dd>
            {asset.width}×{asset.height} px, {formatInt(asset.size_bytes)} bytes
          </dd>
          <dt>Uploaded</dt>
          <dd>{formatDateTime(asset.created_at)}</dd>
          <dt>Campaign</dt>
          <dd>
            <a href={`/campaigns/${asset.campaign_id}`}>{asset.campaign_id}</a>
          </dd>
          <dt>SHA-256</dt>
          <dd className="mono" style={{ wordBreak: 'break-all' }}>
            {asset.sha256}
          </dd>
          <dt>Original</dt>
          <dd>
            <a href={links.original} target="_blank" rel="noopener noreferrer">
              Open the original
            </a>
          </dd>
        </dl>
      </div>
      <ErrorNotice error={del.error} title="Could not delete." />
      {canDelete ? (
        <div className="actions">
          {confirm ? (
            <>
              <span>Delete this creative for good?</span>
              <button
                type="button"
                className="btn btn-danger"
                disabled={del.isPending}
                onClick={() => del.mutate(asset, { onSuccess: onClose })}
              >
                Yes, delete
              </button>
              <button type="button" className="btn" onClick={() => setConfirm(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" className="btn btn-danger" onClick={() => setConfirm(true)}>
              Delete
            </button>
          )}
        </div>
      ) : null}
    </Dialog>
  );
}
