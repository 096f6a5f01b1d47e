import { useState, type FormEvent } from 'react';
import type { Role } from '../../../api/types';
import { fieldErrors } from '../../../api/errors';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { FieldErrors } from '../../../components/FieldErrors';
import { Pending } from '../../../components/Pending';
import { formatDateTime } from '../../../lib/format';
import { ROLE_LABELS } from '../../../lib/roles';
import { useSession } from '../../../session/context';
import { useCreateUser, useDeactivateUser, useUsers } from '../hooks/useUsers';

export function UsersSection() {
  const me = useSession().user;
  const users = useUsers();
  const create = useCreateUser();
  const deactivate = useDeactivateUser();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('analyst');
  const [said, setSaid] = useState('');
  const errs = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaid('');
    create.mutate(
      { email: email.trim(), password, role },
      {
        onSuccess: (u) => {
          setSaid(`User ${u.email} created.`);
          setEmail('');
          setPassword('');
        },
      },
    );
  };

  return (
    <section className="card" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <ErrorNotice error={users.error} title="Could not load users." />
      {users.isPending ? <Pending /> : null}
      {users.data ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.data.map((u) => (
                <tr key={u.id}>
                  <td>{u.email}</td>
                  <td>{ROLE_LABELS[u.role] ?? u.role}</td>
                  <td>{u.deactivated_at ? `deactivated ${formatDateTime(u.deactivated_at)}` : 'active'}</td>
                  <td>
                    {/* The API refuses to deactivate oneself (409 self_deactivation). */}
                    {u.deactivated_at ? null : u.id === me?.id ? (
                      <span className="hint">you</span>
                    ) : (
                      <button
                        type="button"
                        className="btn"
                        disabled={deactivate.isPending}
                        onClick={() => {
                          if (window.confirm(`Deactivate ${u.email}? They will be signed out and cannot sign in again.`)) {
                            deactivate.mutate(u.id, { onSuccess: () => setSaid(`${u.email} deactivated.`) });
                          }
                        }}
                      >
                        Deactivate<span className="visually-hidden"> {u.email}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorNotice error={deactivate.error} title="Could not deactivate." />

      <form onSubmit={submit} noValidate aria-labelledby="nu-title" className="form">
        <h3 id="nu-title">New user</h3>
        <div className="row">
          <div className="field">
            <label htmlFor="nu-email">Email</label>
            <input id="nu-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-describedby="nu-email-errors" autoComplete="off" />
            <FieldErrors id="nu-email-errors" messages={errs.email} />
          </div>
          <div className="field">
            <label htmlFor="nu-password">Initial password (at least 12 characters)</label>
            <input id="nu-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby="nu-password-errors" autoComplete="new-password" />
            <FieldErrors id="nu-password-errors" messages={errs.password} />
          </div>
          <div className="field">
            <label htmlFor="nu-role">Role</label>
            <select id="nu-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {(Object.keys(ROLE_LABELS) as Role[]).map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
            <FieldErrors id="nu-role-errors" messages={errs.role} />
          </div>
        </div>
        {create.error && Object.keys(errs).length === 0 ? <ErrorNotice error={create.error} /> : null}
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create user
        </button>
      </form>
      <p role="status" aria-live="polite" className="live-region">
        {said}
      </p>
    </section>
  );
}
