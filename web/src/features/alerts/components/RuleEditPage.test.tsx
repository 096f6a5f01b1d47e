import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { AlertRule } from '../../../api/types';
import { apiError, json, type stubFetch } from '../../../test/http';
import { renderSignedIn } from '../../../test/render';
import { RuleCreatePage, RuleEditPage } from './RuleEditPage';

const ID = '0190a000-0000-7000-8000-000000000001';
const HOOK = '0190a000-0000-7000-8000-0000000000c1';
const CAMPAIGN = '0190a000-0000-7000-8000-0000000000ca';
const GONE = '0190a000-0000-7000-8000-0000000000c9';

function rule(over: Partial<AlertRule> = {}): AlertRule {
  return {
    id: ID,
    name: 'CTR watch',
    campaign_id: null,
    brand_id: 'acme',
    condition: { metric: 'ctr', over: 'today', op: '<', value: 0.5 } as never,
    for_secs: 300,
    cooldown_secs: 900,
    message_template: '{{ rule.name }} is {{ state }}',
    channel_ids: [HOOK],
    enabled: true,
    version: 3,
    created_at: '2026-12-01T00:00:00Z',
    updated_at: '2026-12-01T00:00:00Z',
    ...over,
  };
}

function common(h: ReturnType<typeof stubFetch>) {
  h.on(
    'GET',
    '/api/v1/alert-channels',
    json(200, {
      data: [{ id: HOOK, name: 'Ops hook', kind: 'webhook', target: 'https://hooks.example.com/x', signed: true, created_at: '', updated_at: '' }],
    }),
  );
  h.on(
    'GET',
    '/api/v1/campaigns',
    json(200, { data: [{ id: CAMPAIGN, name: 'Spring sale', status: 'active' }], pagination: { limit: 100, total: 1 } }),
  );
}

const row = (n: string) => screen.getByRole('group', { name: `Condition ${n}` });

describe('the rule builder', () => {
  it('creates a rule with a nested ANY group and shows a 422 on the row its path names', async () => {
    const { http } = await renderSignedIn(<RuleCreatePage />, { stubs: common });
    http.on(
      'POST',
      '/api/v1/alert-rules',
      apiError(422, 'validation_failed', 'the request has invalid fields', [
        { field: 'condition.all[1].any[0].value', message: 'must not be negative' },
        { field: 'message_template', message: 'cannot be rendered: undefined value' },
      ]),
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Name'), 'Spend or CPC');
    await user.click(screen.getByLabelText('One campaign'));
    await user.selectOptions(await screen.findByLabelText('Campaign'), CAMPAIGN);

    await user.type(within(row('1')).getByLabelText('Value'), '1000');
    await user.click(screen.getByRole('button', { name: 'Add group to the condition' }));
    await user.selectOptions(within(row('2.1')).getByLabelText('Metric'), 'cpc');
    await user.type(within(row('2.1')).getByLabelText('Value'), '-1');
    await user.click(screen.getByRole('button', { name: 'Add budget check to group 2' }));

    await user.clear(screen.getByLabelText('Hold for'));
    await user.type(screen.getByLabelText('Hold for'), '5');
    await user.selectOptions(screen.getByLabelText('Hold for unit'), 'minutes');
    expect(screen.getByLabelText('Hold for')).toHaveValue(0.0833);
    await user.clear(screen.getByLabelText('Hold for'));
    await user.type(screen.getByLabelText('Hold for'), '5');
    await user.type(screen.getByLabelText('Message template (optional)'), '{{{{ rule.nmae }}');
    await user.click(await screen.findByRole('checkbox', { name: 'Ops hook (webhook)' }));
    await user.click(screen.getByRole('button', { name: 'Create rule' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Some fields need attention.');
    const value = within(row('2.1')).getByLabelText('Value');
    expect(value).toHaveAttribute('aria-invalid', 'true');
    expect(value).toHaveAccessibleDescription(/must not be negative/);
    expect(within(row('1')).getByLabelText('Value')).not.toHaveAttribute('aria-invalid');
    expect(screen.getByLabelText('Message template (optional)')).toHaveAccessibleDescription(/cannot be rendered/);

    const sent = JSON.parse(http.calls.find((c) => c.method === 'POST' && c.url === '/api/v1/alert-rules')!.body ?? '');
    expect(sent).toEqual({
      name: 'Spend or CPC',
      campaign_id: CAMPAIGN,
      brand_id: null,
      condition: {
        all: [
          { metric: 'spend', over: 'today', op: '>', value: 1_000_000_000 },
          { any: [{ metric: 'cpc', over: 'today', op: '>', value: -1_000_000 }, { budget_exhausted: 'either' }] },
        ],
      },
      for_secs: 300,
      cooldown_secs: 900,
      message_template: '{{ rule.nmae }}',
      channel_ids: [HOOK],
      enabled: true,
    });
  });

  it('catches a value that is not a number on its row without asking the API', async () => {
    const { http } = await renderSignedIn(<RuleCreatePage />, { stubs: common });
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Name'), 'x');
    await user.type(within(row('1')).getByLabelText('Value'), 'lots');
    await user.click(screen.getByRole('button', { name: 'Create rule' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Some fields need attention.');
    expect(within(row('1')).getByLabelText('Value')).toHaveAccessibleDescription(/must be a number/);
    expect(http.calls.some((c) => c.url.startsWith('/api/v1/alert-rules'))).toBe(false);
  });

  it('is not offered to analysts', async () => {
    await renderSignedIn(<RuleCreatePage />, { role: 'analyst', stubs: common });
    expect(screen.getByRole('alert')).toHaveTextContent('Your role cannot create or change alert rules.');
    expect(screen.queryByRole('form')).not.toBeInTheDocument();
  });
});

describe('editing a rule', () => {
  it('loads the rule into the rows and sends If-Match', async () => {
    const { http } = await renderSignedIn(<RuleEditPage />, {
      path: '/alerts/:id/edit',
      route: `/alerts/${ID}/edit`,
      stubs: (h) => {
        common(h);
        h.on('GET', `/api/v1/alert-rules/${ID}`, json(200, rule({ channel_ids: [HOOK, GONE] }), { ETag: '"3"' }));
      },
    });
    http.on('PUT', `/api/v1/alert-rules/${ID}`, (c) => json(200, { ...rule(), ...JSON.parse(c.body ?? '{}'), version: 4 }, { ETag: '"4"' }));
    const user = userEvent.setup();
    expect(await screen.findByLabelText('Name')).toHaveValue('CTR watch');
    expect(screen.getByLabelText("One brand's campaigns")).toBeChecked();
    expect(screen.getByLabelText('Brand')).toHaveValue('acme');
    expect(within(row('1')).getByLabelText('Metric')).toHaveValue('ctr');
    expect(within(row('1')).getByLabelText('Value')).toHaveValue('0.5');
    expect(screen.getByLabelText('Hold for')).toHaveValue(5);
    expect(screen.getByLabelText('Hold for unit')).toHaveValue('minutes');
    expect(await screen.findByRole('checkbox', { name: 'Ops hook (webhook)' })).toBeChecked();

    // A channel deleted since: shown, so it can be unticked.
    await user.click(screen.getByRole('checkbox', { name: `missing channel ${GONE}` }));
    await user.click(screen.getByLabelText('Every campaign'));
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByText('elsewhere');
    const put = http.calls.find((c) => c.method === 'PUT')!;
    expect(put.headers.get('If-Match')).toBe('"3"');
    expect(JSON.parse(put.body ?? '')).toMatchObject({ brand_id: null, campaign_id: null, for_secs: 300, channel_ids: [HOOK] });
  });

  it('on 412 explains, keeps what the user typed, and saves over theirs when asked', async () => {
    let version = 3;
    const { http } = await renderSignedIn(<RuleEditPage />, {
      path: '/alerts/:id/edit',
      route: `/alerts/${ID}/edit`,
      stubs: (h) => {
        common(h);
        h.on('GET', `/api/v1/alert-rules/${ID}`, () => json(200, rule({ version }), { ETag: `"${version}"` }));
      },
    });
    http.on('PUT', `/api/v1/alert-rules/${ID}`, (c) =>
      c.headers.get('If-Match') === `"${version}"`
        ? json(200, rule({ version: version + 1 }), { ETag: `"${version + 1}"` })
        : apiError(412, 'precondition_failed', 'changed', [], { ETag: `"${version}"` }),
    );
    const user = userEvent.setup();
    const name = await screen.findByLabelText('Name');
    await user.clear(name);
    await user.type(name, 'Mine');
    await user.clear(within(row('1')).getByLabelText('Value'));
    await user.type(within(row('1')).getByLabelText('Value'), '0.8');
    version = 4; // someone else saved meanwhile
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText(/Someone else changed this rule/)).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveValue('Mine');
    expect(within(row('1')).getByLabelText('Value')).toHaveValue('0.8');

    await user.click(screen.getByRole('button', { name: /Keep my changes/ }));
    await waitFor(() => expect(screen.queryByText(/Someone else changed/)).not.toBeInTheDocument());
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByText('elsewhere');
    const puts = http.calls.filter((c) => c.method === 'PUT');
    expect(puts.map((c) => c.headers.get('If-Match'))).toEqual(['"3"', '"4"']);
    expect(JSON.parse(puts[1]!.body ?? '')).toMatchObject({ name: 'Mine', condition: { value: 0.8 } });
  });
});
