import { describe, expect, it } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { apiError, json } from '../../../test/http';
import { renderSignedIn } from '../../../test/render';
import { LoginPage } from './LoginPage';

describe('LoginPage', () => {
  it('shows a wrong password and submits on Enter', async () => {
    const { http, session } = await renderSignedIn(<LoginPage />, { role: null });
    http.on('POST', '/api/v1/session', apiError(401, 'invalid_credentials', 'wrong email or password'));
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'pat@example.com');
    await user.type(screen.getByLabelText('Password'), 'nope{Enter}');
    expect(await screen.findByRole('alert')).toHaveTextContent('The email or password is wrong.');
    expect(session.getToken()).toBeNull();
    expect(session.getSnapshot().status).not.toBe('authenticated');
    const call = http.calls.find((c) => c.url === '/api/v1/session')!;
    expect(JSON.parse(call.body ?? '')).toEqual({ email: 'pat@example.com', password: 'nope' });
  });

  it('shows field problems next to their fields, and rate limits with the wait', async () => {
    const { http } = await renderSignedIn(<LoginPage />, { role: null });
    http.on('POST', '/api/v1/session', apiError(422, 'validation_failed', 'invalid', [{ field: 'email', message: 'must be an e-mail address' }]));
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'pat');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    const email = screen.getByLabelText('Email');
    expect(await screen.findByText('must be an e-mail address')).toBeInTheDocument();
    expect(email).toHaveAttribute('aria-invalid', 'true');
    expect(email).toHaveAccessibleDescription('must be an e-mail address');

    http.on('POST', '/api/v1/session', apiError(429, 'rate_limited', 'too many', [], { 'Retry-After': '30' }));
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Too many requests. Try again in 30 s.')).toBeInTheDocument();
  });

  it('signs in', async () => {
    const { http, session } = await renderSignedIn(<LoginPage />, { role: null });
    http.on(
      'POST',
      '/api/v1/session',
      json(200, { access_token: 'a', token_type: 'Bearer', expires_in: 900, user: { id: 'u', email: 'pat@example.com', role: 'analyst', tenant_id: 't' } }),
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'pat@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse{Enter}');
    await waitFor(() => expect(session.getSnapshot().status).toBe('authenticated'));
    expect(session.getToken()).toBe('a');
  });
});
