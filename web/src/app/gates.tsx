import type { ReactNode } from 'react';
import { useSession } from '../session/context';
import { isAdmin } from '../lib/roles';

/** Admin-only pages: others get an explanation, not the page. */
export function AdminOnly({ children }: { children: ReactNode }) {
  const { user } = useSession();
  if (!isAdmin(user?.role)) {
    return (
      <section>
        <h1>Not available</h1>
        <p>Only administrators can manage users and ingest keys.</p>
      </section>
    );
  }
  return <>{children}</>;
}

export function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <a href="/campaigns">Back to campaigns</a>
      </p>
    </section>
  );
}
