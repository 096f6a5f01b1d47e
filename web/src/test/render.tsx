// Renders a page with real services (session manager, API client, query
// client) over a stubbed fetch, signed in with `role`.
import type { ReactNode } from 'react';
import { render } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes } from 'react-router';
import type { Role } from '../api/types';
import { createApiClient } from '../api/client';
import { SessionManager } from '../session/session';
import { ServicesProvider } from '../session/context';
import { json, stubFetch } from './http';

export const USER_ID = '00000000-0000-0000-0000-000000000001';

export async function renderSignedIn(
  ui: ReactNode,
  {
    role = 'campaign_manager',
    path = '/',
    route = '/',
    stubs,
  }: { role?: Role | null; path?: string; route?: string; stubs?: (http: ReturnType<typeof stubFetch>) => void } = {},
) {
  const http = stubFetch();
  http.on(
    'POST',
    '/api/v1/session/refresh',
    json(200, {
      access_token: 'token-1',
      token_type: 'Bearer',
      expires_in: 900,
      user: { id: USER_ID, email: 'pat@example.com', role: role ?? 'analyst', tenant_id: 't1' },
    }),
  );
  stubs?.(http);
  const session = new SessionManager({ fetch: http.fetch });
  if (role !== null) await session.restore();
  const api = createApiClient(session, { fetch: http.fetch });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const result = render(
    <ServicesProvider session={session} api={api}>
      <QueryClientProvider client={queryClient}>
        <MemoryRouter initialEntries={[route]}>
          <Routes>
            <Route path={path} element={ui} />
            <Route path="*" element={<p>elsewhere</p>} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </ServicesProvider>,
  );
  return { ...result, http, session, api, queryClient };
}
