import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from './api/errors';
import { createApiClient } from './api/client';
import { browserSession } from './session/session';
import { ServicesProvider } from './session/context';
import { App } from './app/App';
import './styles.css';

const session = browserSession();
const api = createApiClient(session);
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // Client errors will not change by asking again.
      retry: (count, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && count < 2,
    },
  },
});

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ServicesProvider session={session} api={api}>
        <QueryClientProvider client={queryClient}>
          <App />
        </QueryClientProvider>
      </ServicesProvider>
    </StrictMode>,
  );
}
