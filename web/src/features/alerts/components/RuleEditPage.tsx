import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import type { AlertRuleBody } from '../../../api/types';
import { ApiError } from '../../../api/errors';
import { ConflictNotice } from '../../../components/ConflictNotice';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Pending } from '../../../components/Pending';
import { canManageCampaigns } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { emptyRuleForm, formFromRule, type RuleFormValues } from '../api/form';
import { useAlertRule } from '../hooks/useAlertRule';
import { useCreateRule, useReplaceRule } from '../hooks/useRuleMutations';
import { RuleForm } from './RuleForm';

function NotAllowed() {
  return <p role="alert">Your role cannot create or change alert rules.</p>;
}

/** New alert rule. */
export function RuleCreatePage() {
  const { user } = useSession();
  const create = useCreateRule();
  const navigate = useNavigate();
  const [initial] = useState(emptyRuleForm);
  if (!canManageCampaigns(user?.role)) return <NotAllowed />;
  const submit = (body: AlertRuleBody) =>
    create.mutate(body, { onSuccess: (res) => void navigate(`/alerts/${res.data.id}`) });
  return (
    <section aria-labelledby="rc-title">
      <p>
        <Link to="/alerts">← Alerts</Link>
      </p>
      <h1 id="rc-title">New alert rule</h1>
      <RuleForm initial={initial} onSubmit={submit} error={create.error} submitting={create.isPending} submitLabel="Create rule" />
    </section>
  );
}

/** Edit a rule: PUT with If-Match; a 412 keeps the user's input. */
export function RuleEditPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const q = useAlertRule(id);
  const replace = useReplaceRule(id);
  const navigate = useNavigate();
  // The version the form's contents are based on, and the form's identity
  // (a new key starts it over from the server's version).
  const [baseEtag, setBaseEtag] = useState<string | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [initial, setInitial] = useState<RuleFormValues | null>(null);
  const [conflict, setConflict] = useState(false);

  if (!canManageCampaigns(user?.role)) return <NotAllowed />;
  if (q.isPending) return <Pending />;
  if (q.error) return <ErrorNotice error={q.error} title="Could not load the rule." />;
  const rule = q.data.data;
  const etag = baseEtag ?? q.data.etag;
  const formInitial = initial ?? formFromRule(rule);

  const submit = (body: AlertRuleBody) => {
    setConflict(false);
    replace.mutate(
      { body, etag },
      {
        onSuccess: () => void navigate(`/alerts/${id}`),
        onError: (e) => {
          if (e instanceof ApiError && e.status === 412) setConflict(true);
        },
      },
    );
  };

  const loadTheirs = async () => {
    const fresh = await q.refetch();
    if (!fresh.data) return;
    setInitial(formFromRule(fresh.data.data));
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
    <section aria-labelledby="re-title">
      <p>
        <Link to={`/alerts/${id}`}>← {rule.name}</Link>
      </p>
      <h1 id="re-title">Edit alert rule</h1>
      <RuleForm
        key={formKey}
        initial={formInitial}
        onSubmit={submit}
        error={replace.error}
        submitting={replace.isPending}
        submitLabel="Save changes"
        banner={
          conflict ? (
            <ConflictNotice
              what="rule"
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
