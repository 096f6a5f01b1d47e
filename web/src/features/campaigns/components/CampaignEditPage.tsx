import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError } from '../../../api/errors';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { bodyFromForm, EMPTY_FORM, formFromCampaign, type CampaignFormValues } from '../api/form';
import { isEditable } from '../api/status';
import { useCampaign } from '../hooks/useCampaign';
import { useCreateCampaign, useReplaceCampaign } from '../hooks/useCampaignMutations';
import { CampaignForm } from './CampaignForm';
import { ConflictNotice } from '../../../components/ConflictNotice';

function NotAllowed() {
  return <p role="alert">Your role cannot create or change campaigns.</p>;
}

/** New campaign (a draft). */
export function CampaignCreatePage() {
  const { user } = useSession();
  const create = useCreateCampaign();
  const navigate = useNavigate();
  const [local, setLocal] = useState<Record<string, string[]>>();
  if (!canManageCampaigns(user?.role)) return <NotAllowed />;
  const submit = (v: CampaignFormValues) => {
    const r = bodyFromForm(v);
    if ('errors' in r) return setLocal(r.errors);
    setLocal(undefined);
    create.mutate(r.body, { onSuccess: (res) => void navigate(`/campaigns/${res.data.id}`) });
  };
  return (
    <section aria-labelledby="cc-title">
      <h1 id="cc-title">New campaign</h1>
      <CampaignForm
        initial={EMPTY_FORM}
        onSubmit={submit}
        error={create.error}
        localErrors={local}
        submitting={create.isPending}
        submitLabel="Create draft"
      />
    </section>
  );
}

/** Edit a campaign: PUT with If-Match; a 412 keeps the user's input. */
export function CampaignEditPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const q = useCampaign(id);
  const replace = useReplaceCampaign(id);
  const navigate = useNavigate();
  // The version the form's contents are based on, and the form's identity
  // (a new key starts it over from the server's version).
  const [baseEtag, setBaseEtag] = useState<string | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [initial, setInitial] = useState<CampaignFormValues | null>(null);
  const [conflict, setConflict] = useState(false);
  const [local, setLocal] = useState<Record<string, string[]>>();

  if (!canManageCampaigns(user?.role)) return <NotAllowed />;
  if (q.isPending) return <Pending />;
  if (q.error) return <ErrorNotice error={q.error} title="Could not load the campaign." />;
  const campaign = q.data.data;
  if (!isEditable(campaign.status)) {
    return <p role="alert">A {campaign.status} campaign can no longer be edited.</p>;
  }
  const etag = baseEtag ?? q.data.etag;
  const formInitial = initial ?? formFromCampaign(campaign);

  const submit = (v: CampaignFormValues) => {
    const r = bodyFromForm(v);
    if ('errors' in r) return setLocal(r.errors);
    setLocal(undefined);
    setConflict(false);
    replace.mutate(
      { body: r.body, etag },
      {
        onSuccess: () => void navigate(`/campaigns/${id}`),
        onError: (e) => {
          if (e instanceof ApiError && e.status === 412) setConflict(true);
        },
      },
    );
  };

  const loadTheirs = async () => {
    const fresh = await q.refetch();
    if (!fresh.data) return;
    setInitial(formFromCampaign(fresh.data.data));
    setBaseEtag(fresh.data.etag);
    setConflict(false);
    replace.reset();
    setFormKey((k) => k + 1);
  };
  const keepMine = async () => {
    const fresh = await q.refetch();
    if (!fresh.data) return;
    // Their version is the base now; the form keeps the user's input.
    setBaseEtag(fresh.data.etag);
    setConflict(false);
    replace.reset();
  };

  return (
    <section aria-labelledby="ce-title">
      <p>
        <Link to={`/campaigns/${id}`}>← {campaign.name}</Link>
      </p>
      <h1 id="ce-title">Edit campaign</h1>
      <CampaignForm
        key={formKey}
        initial={formInitial}
        onSubmit={submit}
        error={replace.error}
        localErrors={local}
        submitting={replace.isPending}
        submitLabel="Save changes"
        banner={
          conflict ? (
            <ConflictNotice
              what="campaign"
              busy={q.isFetching}
              onLoadTheirs={() => void loadTheirs()}
              onKeepMine={() => void keepMine()}
            />
          ) : null
        }
      />
    </section>
  );
}
