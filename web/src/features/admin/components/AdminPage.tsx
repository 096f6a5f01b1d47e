import { KeysSection } from './KeysSection';
import { UsersSection } from './UsersSection';

/** Users and ingest keys (admins only; the route is gated). */
export function AdminPage() {
  return (
    <>
      <h1>Admin</h1>
      <UsersSection />
      <KeysSection />
    </>
  );
}
