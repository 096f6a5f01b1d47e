import { useState, type FormEvent } from 'react';
import { ApiError, describeError, fieldErrors } from '../../../api/errors';
import { FieldErrors } from '../../../components/FieldErrors';
import { useLogin } from '../hooks/useLogin';

function loginMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return 'The email or password is wrong.';
    if (e.status === 422) return 'Check the highlighted fields.';
  }
  return describeError(e);
}

/** Sign-in form; on success the app shell takes over. */
export function LoginPage() {
  const login = useLogin();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const errors = fieldErrors(login.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate({ email: email.trim(), password });
  };

  return (
    <main id="main" className="login">
      <form className="card login-card" onSubmit={submit} noValidate aria-labelledby="login-title">
        <h1 id="login-title">Sign in to adpulse</h1>
        {login.error ? (
          <div className="notice notice-error" role="alert">
            {loginMessage(login.error)}
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="login-email">Email</label>
          <input
            id="login-email"
            type="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            aria-invalid={errors.email ? true : undefined}
            aria-describedby={errors.email ? 'login-email-errors' : undefined}
          />
          <FieldErrors id="login-email-errors" messages={errors.email} />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            aria-invalid={errors.password ? true : undefined}
            aria-describedby={errors.password ? 'login-password-errors' : undefined}
          />
          <FieldErrors id="login-password-errors" messages={errors.password} />
        </div>
        <button type="submit" className="btn btn-primary" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
