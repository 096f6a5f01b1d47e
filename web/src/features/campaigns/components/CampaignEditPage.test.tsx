import { describe, expect, it } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Campaign } from '../../../api/types';
import { apiError, json } from '../../../test/http';
import { renderSignedIn } from '../../../test/render';
import { CampaignCreatePage, CampaignEditPage } from './CampaignEditPage';

const ID = '11111111-2222-3333-4444-555555555555';

function campaign(over: Partial<Campaign> = {}): Campaign {
  return {
    id: ID,
    status: 'draft',
    name: 'Spring sale',
    brand_id: 'acme',
    budget: { total_micros: 5_000_000_000, currency: 'EUR', daily_cap_micros: null },
    schedule: { start: null, end: null, timezone: 'Europe/Berlin' },
    objectives: ['reach'],
    channels: ['display'],
    created_at: '2026-11-01T00:00:00Z',
    updated_at: '2026-11-01T00:00:00Z',
    version: 3,
    allowed_transitions: ['scheduled', 'active'],
    _links: { self: `/api/v1/campaigns/${ID}`, status: '', targeting: '' },
    ...over,
  };
}

describe('campaign form', () => {
  it('shows the API 422 problems next to their fields', async () => {
    const { http } = await renderSignedIn(<CampaignCreatePage />);
    http.on(
      'POST',
      '/api/v1/campaigns',
      apiError(422, 'validation_failed', 'the request has invalid fields', [
        { field: 'name', message: 'must be 1 to 200 characters' },
        { field: 'budget.currency', message: 'must be an ISO 4217 code like EUR' },
        { field: 'schedule.timezone', message: 'must be an IANA time zone like Europe/Berlin' },
        { field: 'channels[0]', message: 'must be one of display, social, search, video, native' },
      ]),
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Name'), ' ');
    await user.type(screen.getByLabelText('Total budget'), '100');
    await user.clear(screen.getByLabelText('Currency (ISO 4217)'));
    await user.type(screen.getByLabelText('Currency (ISO 4217)'), 'eu');
    await user.click(screen.getByRole('button', { name: 'Create draft' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Some fields need attention.');
    expect(screen.getByLabelText('Name')).toHaveAccessibleDescription('must be 1 to 200 characters');
    expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Currency (ISO 4217)')).toHaveAccessibleDescription('must be an ISO 4217 code like EUR');
    expect(screen.getByLabelText('Campaign time zone')).toHaveAccessibleDescription('must be an IANA time zone like Europe/Berlin');
    expect(screen.getByRole('group', { name: 'Channels' })).toHaveTextContent('[0]: must be one of display');
    // fields the API did not name are not marked
    expect(screen.getByLabelText('Brand')).not.toHaveAttribute('aria-invalid');

    const sent = JSON.parse(http.calls.find((c) => c.method === 'POST' && c.url === '/api/v1/campaigns')!.body ?? '');
    expect(sent.budget).toEqual({ total_micros: 100_000_000, currency: 'EU', daily_cap_micros: null });
  });

  it('on 412 keeps what the user typed, explains, and loads their version only when asked', async () => {
    let version = 3;
    const { http } = await renderSignedIn(<CampaignEditPage />, {
      path: '/campaigns/:id/edit',
      route: `/campaigns/${ID}/edit`,
      stubs: (h) =>
        h.on('GET', `/api/v1/campaigns/${ID}`, () =>
          json(200, campaign(version === 3 ? {} : { version, name: 'Their name' }), { ETag: `"${version}"` }),
        ),
    });
    http.on('PUT', `/api/v1/campaigns/${ID}`, (c) => {
      if (c.headers.get('If-Match') !== `"${version}"`) {
        return apiError(412, 'precondition_failed', 'the resource changed', [], { ETag: `"${version}"` });
      }
      return json(200, campaign({ version: version + 1, name: JSON.parse(c.body ?? '{}').name }));
    });
    const user = userEvent.setup();
    const name = await screen.findByLabelText('Name');
    expect(name).toHaveValue('Spring sale');
    await user.clear(name);
    await user.type(name, 'My better name');

    version = 4; // someone else saved meanwhile
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText(/Someone else changed this campaign/)).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveValue('My better name');
    expect(http.calls.find((c) => c.method === 'PUT')!.headers.get('If-Match')).toBe('"3"');

    await user.click(screen.getByRole('button', { name: /Load their version/ }));
    await waitFor(() => expect(screen.getByLabelText('Name')).toHaveValue('Their name'));
    expect(screen.queryByText(/Someone else changed this campaign/)).not.toBeInTheDocument();
  });

  it('on 412 can keep the user edits and save them over the new version', async () => {
    let version = 3;
    const { http } = await renderSignedIn(<CampaignEditPage />, {
      path: '/campaigns/:id/edit',
      route: `/campaigns/${ID}/edit`,
      stubs: (h) => h.on('GET', `/api/v1/campaigns/${ID}`, () => json(200, campaign({ version }), { ETag: `"${version}"` })),
    });
    http.on('PUT', `/api/v1/campaigns/${ID}`, (c) =>
      c.headers.get('If-Match') === `"${version}"`
        ? json(200, campaign({ version: version + 1 }))
        : apiError(412, 'precondition_failed', 'changed', [], { ETag: `"${version}"` }),
    );
    const user = userEvent.setup();
    const name = await screen.findByLabelText('Name');
    await user.clear(name);
    await user.type(name, 'Mine');
    version = 4;
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await user.click(await screen.findByRole('button', { name: /Keep my changes/ }));
    await waitFor(() => expect(screen.queryByText(/Someone else changed/)).not.toBeInTheDocument());
    expect(screen.getByLabelText('Name')).toHaveValue('Mine');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByText('elsewhere'); // navigated away after saving
    const puts = http.calls.filter((c) => c.method === 'PUT');
    expect(puts.map((c) => c.headers.get('If-Match'))).toEqual(['"3"', '"4"']);
    expect(JSON.parse(puts[1]!.body ?? '').name).toBe('Mine');
  });
});
