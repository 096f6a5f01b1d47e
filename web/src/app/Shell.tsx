import { Suspense } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useSession, useSessionManager } from '../session/context';
import { isAdmin, ROLE_LABELS } from '../lib/roles';
import { Pending } from '../components/Pending';

/** Header with navigation and the user; the page below. */
export function Shell() {
  const { user } = useSession();
  const session = useSessionManager();
  const qc = useQueryClient();
  const logout = async () => {
    await session.logout();
    qc.clear();
  };
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">adpulse</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/campaigns">Campaigns</NavLink>
            </li>
            <li>
              <NavLink to="/reports">Reports</NavLink>
            </li>
            <li>
              <NavLink to="/creatives">Creatives</NavLink>
            </li>
            <li>
              <NavLink to="/alerts">Alerts</NavLink>
            </li>
            {isAdmin(user?.role) ? (
              <li>
                <NavLink to="/admin">Admin</NavLink>
              </li>
            ) : null}
          </ul>
        </nav>
        <div className="user">
          <span className="user-email">{user?.email}</span>
          <span className="role-tag">{user ? ROLE_LABELS[user.role] ?? user.role : ''}</span>
          <button type="button" className="btn btn-ghost" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" className="app-main" tabIndex={-1}>
        <Suspense fallback={<Pending />}>
          <Outlet />
        </Suspense>
      </main>
    </>
  );
}
