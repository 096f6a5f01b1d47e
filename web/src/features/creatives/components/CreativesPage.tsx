import { useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import type { Asset } from '../../../api/types';
import type { CreativeType } from '../../../api/types';
import { CampaignPicker } from '../../../components/CampaignPicker';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import type { CreativeFilters } from '../api/query';
import { useCreatives } from '../hooks/useCreatives';
import { CreativeDialog } from './CreativeDialog';
import { CreativeGrid } from './CreativeGrid';
import { UploadPanel } from './UploadPanel';

/** The tenant's creatives library. */
export function CreativesPage() {
  const { user } = useSession();
  const manage = canManageCampaigns(user?.role);
  const [search] = useSearchParams();
  const first: CreativeFilters = { campaign_id: search.get('campaign') ?? '', type: '', name: '' };
  const [draft, setDraft] = useState<CreativeFilters>(first);
  const [filters, setFilters] = useState<CreativeFilters>(first);
  const [open, setOpen] = useState<Asset | null>(null);
  const [showUpload, setShowUpload] = useState(false);
  const q = useCreatives(filters);
  const items = useMemo(() => q.data?.pages.flatMap((p) => p.data) ?? [], [q.data]);
  const total = q.data?.pages[0]?.total ?? 0;

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };

  return (
    <section aria-labelledby="cr-title">
      <div className="page-head">
        <h1 id="cr-title">Creatives</h1>
        {manage ? (
          <button type="button" className="btn btn-primary" aria-expanded={showUpload} onClick={() => setShowUpload((s) => !s)}>
            {showUpload ? 'Hide upload' : 'Upload'}
          </button>
        ) : null}
      </div>
      {manage && showUpload ? <UploadPanel initialCampaign={filters.campaign_id} /> : null}
      <form className="card filters" onSubmit={apply} aria-label="Filter creatives">
        <CampaignPicker id="cr-campaign" value={draft.campaign_id} onChange={(id) => setDraft({ ...draft, campaign_id: id })} allowAll />
        <div className="field">
          <label htmlFor="cr-type">Type</label>
          <select id="cr-type" value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value as CreativeType | '' })}>
            <option value="">Any</option>
            <option value="png">PNG</option>
            <option value="jpeg">JPEG</option>
            <option value="gif">GIF</option>
            <option value="webp">WebP</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="cr-name">Name contains</label>
          <input id="cr-name" type="search" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </div>
        <div className="filter-actions">
          <button type="submit" className="btn btn-primary">
            Apply filters
          </button>
        </div>
      </form>
      <ErrorNotice error={q.error} title="Could not load creatives." />
      {q.isPending ? <Pending /> : null}
      {q.data ? (
        <>
          <p className="muted" aria-live="polite">
            {total} creative{total === 1 ? '' : 's'}
            {items.length < total ? ` (${items.length} loaded)` : ''}
          </p>
          {items.length === 0 ? (
            <p>No creatives match.</p>
          ) : (
            <CreativeGrid
              items={items}
              total={total}
              hasNextPage={q.hasNextPage}
              isFetchingNextPage={q.isFetchingNextPage}
              fetchNextPage={() => void q.fetchNextPage()}
              onOpen={setOpen}
            />
          )}
        </>
      ) : null}
      {open ? <CreativeDialog asset={open} canDelete={manage} onClose={() => setOpen(null)} /> : null}
    </section>
  );
}
