import { describe, expect, it } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { json } from '../../../test/http';
import { renderSignedIn } from '../../../test/render';
import { CampaignDetailPage } from './CampaignDetailPage';

const ID = 'c0ffee00-0000-0000-0000-000000000000';
const body = (status = 'paused', version = 5) => ({
  id: ID,
  status,
  name: 'Autumn',
  brand_id: null,
  budget: null,
  schedule: { start: null, end: null, timezone: 'UTC' },
  objectives: [],
  channels: [],
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
  version,
  allowed_transitions: status === 'paused' ? ['active', 'completed'] : ['paused', 'completed'],
  _links: { self: '', status: '', targeting: '' },
});

async function show(role: 'analyst' | 'campaign_manager' | 'admin') {
  const r = await renderSignedIn(<CampaignDetailPage />, {
    role,
    path: '/campaigns/:id',
    route: `/campaigns/${ID}`,
    stubs: (h) => h.on('GET', `/api/v1/campaigns/${ID}`, json(200, body(), { ETag: '"5"' })),
  });
  await screen.findByRole('heading', { name: 'Autumn' });
  return r;
}

describe('role gating on a campaign', () => {
  it('an analyst sees no edit, delete or status buttons', async () => {
    await show('analyst');
    expect(screen.queryByRole('link', { name: 'Edit' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete' })).not.toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Change status' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Targeting' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Live view' })).toBeInTheDocument();
  });

  it('a campaign manager can edit and gets only the allowed status steps', async () => {
    const { http } = await show('campaign_manager');
    expect(screen.getByRole('link', { name: 'Edit' })).toHaveAttribute('href', `/campaigns/${ID}/edit`);
    const steps = screen.getByRole('group', { name: 'Change status' });
    expect([...steps.querySelectorAll('button')].map((b) => b.textContent)).toEqual(['Resume', 'Complete']);

    http.on('PATCH', `/api/v1/campaigns/${ID}/status`, json(200, body('active', 6), { ETag: '"6"' }));
    await userEvent.setup().click(screen.getByRole('button', { name: 'Resume' }));
    expect(await screen.findByText('Status changed to active.')).toBeInTheDocument();
    const patch = http.calls.find((c) => c.method === 'PATCH')!;
    expect(patch.headers.get('If-Match')).toBe('"5"');
    expect(JSON.parse(patch.body ?? '')).toEqual({ status: 'active' });
    expect(screen.getByRole('button', { name: 'Pause' })).toBeInTheDocument();
  });
});
