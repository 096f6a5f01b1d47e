import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { AlertDelivery, Role } from '../../../api/types';
import { apiError, json, type stubFetch } from '../../../test/http';
import { renderSignedIn } from '../../../test/render';
import { RuleDetailPage } from './RuleDetailPage';

const RULE = '0190a000-0000-7000-8000-000000000001';
const HOOK = '0190a000-0000-7000-8000-0000000000c1';
const CAMPAIGN = '0190a000-0000-7000-8000-0000000000ca';
const DEAD = '0190a000-0000-7000-8000-0000000000d1';
const SENT = '0190a000-0000-7000-8000-0000000000d2';

function delivery(id: string, status: AlertDelivery['status'], over: Partial<AlertDelivery> = {}): AlertDelivery {
  return {
    id,
    firing_id: '0190a000-0000-7000-8000-0000000000f1',
    rule_id: RULE,
    channel_id: HOOK,
    status,
    attempts: status === 'dead' ? 4 : 1,
    next_attempt_at: null,
    last_error: status === 'dead' ? 'HTTP 500' : null,
    payload: { type: 'alert.fired' } as never,
    created_at: '2026-12-03T10:00:00Z',
    updated_at: '2026-12-03T10:00:00Z',
    ...over,
  };
}

function stubs(h: ReturnType<typeof stubFetch>) {
  h.on(
    'GET',
    `/api/v1/alert-rules/${RULE}`,
    json(
      200,
      {
        id: RULE,
        name: 'Spend spike',
        campaign_id: null,
        brand_id: null,
        condition: { metric: 'spend', over: 'today', op: '>', value: 1_000_000 },
        for_secs: 0,
        cooldown_secs: 900,
        message_template: '{{ rule.name }}: {{ state }}',
        channel_ids: [HOOK],
        enabled: true,
        version: 2,
        created_at: '2026-12-01T00:00:00Z',
        updated_at: '2026-12-01T00:00:00Z',
      },
      { ETag: '"2"' },
    ),
  );
  h.on('GET', '/api/v1/alert-channels', json(200, { data: [{ id: HOOK, name: 'Ops hook', kind: 'webhook', target: 'https://h.example.com', signed: true, created_at: '', updated_at: '' }] }));
  h.on('GET', '/api/v1/campaigns', json(200, { data: [{ id: CAMPAIGN, name: 'Spring sale', status: 'active' }], pagination: { limit: 100, total: 1 } }));
  h.on('GET', `/api/v1/alert-rules/${RULE}/firings`, (c) =>
    json(
      200,
      c.url.includes('cursor=')
        ? { data: [{ id: 'f0', campaign_id: CAMPAIGN, kind: 'fired', at: '2026-12-02T09:00:00Z', notified: true, message: 'older firing', values: [] }], next_cursor: null }
        : {
            data: [
              { id: 'f2', campaign_id: CAMPAIGN, kind: 'resolved', at: '2026-12-03T11:00:00Z', notified: false, message: 'Spend spike: resolved', values: [] },
              { id: 'f1', campaign_id: CAMPAIGN, kind: 'fired', at: '2026-12-03T10:00:00Z', notified: true, message: 'Spend spike: firing', values: [] },
            ],
            next_cursor: 'c1',
          },
    ),
  );
  h.on('GET', '/api/v1/alert-deliveries', (c) =>
    json(200, {
      data: c.url.includes('status=dead') ? [delivery(DEAD, 'dead')] : [delivery(SENT, 'sent'), delivery(DEAD, 'dead')],
      next_cursor: null,
    }),
  );
  h.on(
    'GET',
    `/api/v1/alert-deliveries/${DEAD}`,
    json(200, {
      ...delivery(DEAD, 'dead'),
      attempt_log: [
        { number: 1, at: '2026-12-03T10:00:00Z', duration_ms: 12, status_code: 500, error: 'HTTP 500' },
        { number: 2, at: '2026-12-03T10:00:05Z', duration_ms: 1500, status_code: null, error: 'timed out' },
      ],
    }),
  );
}

async function show(role: Role) {
  const r = await renderSignedIn(<RuleDetailPage />, { role, path: '/alerts/:id', route: `/alerts/${RULE}`, stubs });
  await screen.findByRole('heading', { level: 1, name: 'Spend spike' });
  return r;
}

describe('a rule', () => {
  it('shows its settings and firings, newest first, older ones on demand', async () => {
    await show('analyst');
    expect(screen.getByText('Spend today > 1.00')).toBeInTheDocument();
    expect(await screen.findByText('Ops hook')).toBeInTheDocument();
    const firings = await screen.findByRole('table', { name: 'Firings' });
    await waitFor(() => expect(within(firings).getAllByRole('row')).toHaveLength(3));
    expect(within(firings).getAllByRole('row')[1]).toHaveTextContent('resolved');
    expect(within(firings).getAllByRole('row')[1]).toHaveTextContent('no (within the cooldown)');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Show older firings' }));
    await waitFor(() => expect(within(firings).getAllByRole('row')).toHaveLength(4));
    expect(within(firings).getAllByRole('row')[3]).toHaveTextContent('older firing');
    expect(screen.queryByRole('button', { name: 'Show older firings' })).not.toBeInTheDocument();
  });

  it('an analyst gets no edit, delete or replay buttons', async () => {
    await show('analyst');
    await screen.findByRole('table', { name: 'Deliveries' });
    expect(screen.queryByRole('link', { name: 'Edit' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete' })).not.toBeInTheDocument();
    expect(await screen.findAllByRole('button', { name: /attempts? of the delivery/ })).toHaveLength(2);
    expect(screen.queryByRole('button', { name: /Replay/ })).not.toBeInTheDocument();
  });

  it('filters the delivery log by status and shows a delivery’s attempts', async () => {
    const { http } = await show('campaign_manager');
    const user = userEvent.setup();
    const log = await screen.findByRole('table', { name: 'Deliveries' });
    await waitFor(() => expect(within(log).getAllByRole('row')).toHaveLength(3));
    await user.selectOptions(screen.getByLabelText('Status'), 'dead');
    await waitFor(() => expect(within(log).getAllByRole('row')).toHaveLength(2));
    const call = http.calls.filter((c) => c.url.startsWith('/api/v1/alert-deliveries?')).pop()!;
    expect(new URL(call.url, 'http://x').searchParams.get('status')).toBe('dead');
    expect(new URL(call.url, 'http://x').searchParams.get('rule_id')).toBe(RULE);

    await user.click(within(log).getByRole('button', { name: /^4 attempts/ }));
    const dialog = await screen.findByRole('dialog', { name: 'Delivery to Ops hook' });
    const attempts = await within(dialog).findByRole('table', { name: 'Attempts' });
    expect(within(attempts).getAllByRole('row')).toHaveLength(3);
    expect(within(attempts).getAllByRole('row')[2]).toHaveTextContent('timed out');
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });

  it('replays a dead letter for a manager, and explains a 409', async () => {
    const { http } = await show('campaign_manager');
    let replays = 0;
    http.on('POST', `/api/v1/alert-deliveries/${DEAD}/replay`, () => {
      replays += 1;
      return replays === 1
        ? json(200, delivery(DEAD, 'pending', { next_attempt_at: '2026-12-03T12:00:00Z' }))
        : apiError(409, 'not_dead', 'only dead letters are replayed; this delivery is pending');
    });
    const user = userEvent.setup();
    const replay = await screen.findByRole('button', { name: /^Replay/ });
    expect(screen.getAllByRole('button', { name: /^Replay/ })).toHaveLength(1);
    await user.click(replay);
    expect(await screen.findByText('Replayed: the delivery is pending again.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: /^Replay/ }));
    expect(await screen.findByText(/only dead letters are replayed/)).toBeInTheDocument();
  });
});
