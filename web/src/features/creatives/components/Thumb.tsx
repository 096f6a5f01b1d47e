import { useState } from 'react';
import type { Asset } from '../../../api/types';
import { fitBox } from '../api/layout';

/** A creative's thumbnail (signed URLs as given); a placeholder if it fails. */
export function Thumb({ asset }: { asset: Asset }) {
  const [broken, setBroken] = useState(false);
  const { width, height } = fitBox(asset.width, asset.height);
  const links = asset._links;
  return (
    <div className="thumb-box">
      {broken ? (
        <div className="thumb-missing" role="img" aria-label={`No preview for ${asset.filename}`}>
          No preview
        </div>
      ) : (
        <img
          src={links.w150}
          srcSet={`${links.w150} 150w, ${links.w300} 300w`}
          sizes="150px"
          width={width}
          height={height}
          loading="lazy"
          decoding="async"
          alt={asset.filename}
          onError={() => setBroken(true)}
        />
      )}
    </div>
  );
}
