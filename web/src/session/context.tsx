import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { ApiClient } from '../api/client';
import type { SessionManager, SessionSnapshot } from './session';

interface Services {
  session: SessionManager;
  api: ApiClient;
}

const ServicesContext = createContext<Services | null>(null);

export function ServicesProvider({ session, api, children }: Services & { children: ReactNode }) {
  return <ServicesContext.Provider value={{ session, api }}>{children}</ServicesContext.Provider>;
}

function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('ServicesProvider missing');
  return s;
}

/** The API client of this app. */
export function useApi(): ApiClient {
  return useServices().api;
}

/** The session manager (login, logout). */
export function useSessionManager(): SessionManager {
  return useServices().session;
}

/** The session's state; re-renders on login, logout and role changes. */
export function useSession(): SessionSnapshot {
  const { session } = useServices();
  return useSyncExternalStore(session.subscribe, session.getSnapshot, session.getSnapshot);
}
