import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Role } from '../../../api/types';
import { apiError, json, type stubFetch } from '../../../test/http';
import { renderSignedIn } from '../../../test/render';
import { AlertsPage } from './AlertsPage';

const RULE = '0190a000-0000-7000-8000-000000000001';
const HOOK = '0190a000-0000-7000-8000-0000000000c1';
const MAIL = '0190a000-0000-7000-8000-0000000000c2';
const CAMPAIGN = '0190a000-0000-7000-8000-0000000000ca';

const channel = (id: string, name: string, kind: 'webhook' | 'email', target: string) => ({
  id,
  name,
  kind,
  target,
  signed: kind === 'webhook',
  previous_secret_until: null,
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
});

function stubs(h: ReturnType<typeof stubFetch>) {
  h.on(
    'GET',
    '/api/v1/alert-rules',
    json(200, {
      data: [
        {
          id: RULE,
          name: 'Spend spike',
          campaign_id: CAMPAIGN,
          brand_id: null,
          condition: { any: [{ metric: 'spend', over: 'last_15m', op: '>', value: 50_000_000 }, { budget_exhausted: 'either' }] },
          for_secs: 0,
          cooldown_secs: 900,
          message_template: 'x',
          channel_ids: [HOOK],
          enabled: true,
          version: 1,
          created_at: '',
          updated_at: '',
        },
      ],
      next_cursor: null,
    }),
  );
  h.on('GET', '/api/v1/alert-channels', json(200, { data: [channel(HOOK, 'Ops hook', 'webhook', 'https://hooks.example.com/ops'), channel(MAIL, 'On call', 'email', 'oncall@example.com')] }));
  h.on('GET', '/api/v1/campaigns', json(200, { data: [{ id: CAMPAIGN, name: 'Spring sale', status: 'active' }], pagination: { limit: 100, total: 1 } }));
}

async function show(role: Role) {
  const r = await renderSignedIn(<AlertsPage />, { role, stubs });
  await screen.findByRole('link', { name: 'Spend spike' });
  return r;
}

describe('the alerts page', () => {
  it('lists rules with their scope and a one-line condition', async () => {
    await show('campaign_manager');
    const rules = screen.getByRole('table', { name: 'Rules' });
    const cells = within(rules).getAllByRole('row')[1]!;
    expect(within(cells).getByRole('link', { name: 'Spend spike' })).toHaveAttribute('href', `/alerts/${RULE}`);
    expect(cells).toHaveTextContent('Campaign Spring sale');
    expect(cells).toHaveTextContent('enabled');
    expect(cells).toHaveTextContent('Spend last 15 min > 50.00 or budget exhausted (total budget or daily cap)');
    expect(within(cells).getByRole('link', { name: 'Edit Spend spike' })).toHaveAttribute('href', `/alerts/${RULE}/edit`);
    expect(screen.getByRole('link', { name: 'New rule' })).toBeInTheDocument();
  });

  it('an analyst reads rules and channels but gets no buttons that change them', async () => {
    await show('analyst');
    expect(await screen.findByRole('cell', { name: 'Ops hook' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'New rule' })).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: /^Edit/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Delete|Rotate/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'New channel' })).not.toBeInTheDocument();
  });

  it('shows a new webhook secret once, in a dialog with a copy button', async () => {
    const { http } = await show('admin');
    http.on(
      'POST',
      '/api/v1/alert-channels',
      json(201, { ...channel('0190a000-0000-7000-8000-0000000000c3', 'Receiver', 'webhook', 'https://rx.example.com/in'), secret: 'whsec_c2VjcmV0' }),
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Channel name'), 'Receiver');
    await user.selectOptions(screen.getByLabelText('Kind'), 'webhook');
    await user.type(screen.getByLabelText('Target'), 'https://rx.example.com/in');
    await user.click(screen.getByRole('button', { name: 'Create channel' }));

    const dialog = await screen.findByRole('dialog', { name: 'Signing secret of “Receiver”' });
    expect(within(dialog).getByLabelText('Signing secret')).toHaveValue('whsec_c2VjcmV0');
    const writeText = (text: string) => {
      copied = text;
      return Promise.resolve();
    };
    let copied = '';
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await user.click(within(dialog).getByRole('button', { name: 'Copy secret' }));
    expect(await within(dialog).findByText('Copied to the clipboard.')).toBeInTheDocument();
    expect(copied).toBe('whsec_c2VjcmV0');
    await user.click(within(dialog).getByRole('button', { name: 'I have stored it' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.queryByDisplayValue('whsec_c2VjcmV0')).not.toBeInTheDocument();
    const sent = JSON.parse(http.calls.find((c) => c.method === 'POST' && c.url === '/api/v1/alert-channels')!.body ?? '');
    expect(sent).toEqual({ name: 'Receiver', kind: 'webhook', target: 'https://rx.example.com/in' });
  });

  it('shows a refused target next to its field', async () => {
    const { http } = await show('admin');
    http.on(
      'POST',
      '/api/v1/alert-channels',
      apiError(422, 'validation_failed', 'invalid', [{ field: 'target', message: 'names a local host (localhost); private destinations are not allowed' }]),
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Channel name'), 'Local');
    await user.type(screen.getByLabelText('Target'), 'http://localhost/x');
    await user.click(screen.getByRole('button', { name: 'Create channel' }));
    await waitFor(() => expect(screen.getByLabelText('Target')).toHaveAttribute('aria-invalid', 'true'));
    expect(screen.getByLabelText('Target')).toHaveAccessibleDescription(/private destinations are not allowed/);
  });

  it('explains a channel still in use, naming the rules', async () => {
    const { http } = await show('campaign_manager');
    http.on(
      'DELETE',
      `/api/v1/alert-channels/${HOOK}`,
      apiError(409, 'channel_in_use', '1 rule(s) still notify this channel; remove it from them first', [
        { field: 'rules', message: `rule ${RULE} notifies it` },
      ]),
    );
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Delete Ops hook' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete channel?' });
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent('“Ops hook” is still notified by a rule. Remove it from that rule first:');
    expect(within(alert).getByRole('link', { name: 'Spend spike' })).toHaveAttribute('href', `/alerts/${RULE}`);
    expect(within(dialog).getByRole('button', { name: 'Delete' })).toBeDisabled();
  });

  it('rotates a webhook secret and shows the new one once', async () => {
    const { http } = await show('admin');
    http.on(
      'POST',
      `/api/v1/alert-channels/${HOOK}/rotate-secret`,
      json(200, { ...channel(HOOK, 'Ops hook', 'webhook', 'https://hooks.example.com/ops'), secret: 'whsec_bmV3', previous_secret_until: '2026-12-04T12:00:00Z' }),
    );
    const user = userEvent.setup();
    // Only webhooks are signed.
    expect(screen.queryByRole('button', { name: 'Rotate secret of On call' })).not.toBeInTheDocument();
    await user.click(await screen.findByRole('button', { name: 'Rotate secret of Ops hook' }));
    const dialog = await screen.findByRole('dialog', { name: 'Signing secret of “Ops hook”' });
    expect(within(dialog).getByLabelText('Signing secret')).toHaveValue('whsec_bmV3');
    expect(dialog).toHaveTextContent('The previous secret keeps signing too until');
  });
});
