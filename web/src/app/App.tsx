import { lazy, useEffect, type ComponentType } from 'react';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { useSession, useSessionManager } from '../session/context';
import { LoginPage } from '../features/auth/components/LoginPage';
import { Pending } from '../components/Pending';
import { Shell } from './Shell';
import { AdminOnly, NotFound } from './gates';

// One chunk per page: the initial bundle holds the shell and the login.
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) {
  return lazy(async () => ({ default: (await load())[name] }));
}
const CampaignsPage = page(() => import('../features/campaigns/components/CampaignsPage'), 'CampaignsPage');
const CampaignDetailPage = page(() => import('../features/campaigns/components/CampaignDetailPage'), 'CampaignDetailPage');
const CampaignCreatePage = page(() => import('../features/campaigns/components/CampaignEditPage'), 'CampaignCreatePage');
const CampaignEditPage = page(() => import('../features/campaigns/components/CampaignEditPage'), 'CampaignEditPage');
const TargetingPage = page(() => import('../features/campaigns/components/TargetingPage'), 'TargetingPage');
const LivePage = page(() => import('../features/live/components/LivePage'), 'LivePage');
const ReportsPage = page(() => import('../features/reports/components/ReportsPage'), 'ReportsPage');
const TopCampaignsPage = page(() => import('../features/reports/components/TopCampaignsPage'), 'TopCampaignsPage');
const CreativesPage = page(() => import('../features/creatives/components/CreativesPage'), 'CreativesPage');
const AlertsPage = page(() => import('../features/alerts/components/AlertsPage'), 'AlertsPage');
const RuleCreatePage = page(() => import('../features/alerts/components/RuleEditPage'), 'RuleCreatePage');
const RuleEditPage = page(() => import('../features/alerts/components/RuleEditPage'), 'RuleEditPage');
const RuleDetailPage = page(() => import('../features/alerts/components/RuleDetailPage'), 'RuleDetailPage');
const AdminPage = page(() => import('../features/admin/components/AdminPage'), 'AdminPage');

const router = createBrowserRouter([
  {
    path: '/',
    element: <Shell />,
    children: [
      { index: true, element: <Navigate to="/campaigns" replace /> },
      { path: 'campaigns', element: <CampaignsPage /> },
      { path: 'campaigns/new', element: <CampaignCreatePage /> },
      { path: 'campaigns/:id', element: <CampaignDetailPage /> },
      { path: 'campaigns/:id/edit', element: <CampaignEditPage /> },
      { path: 'campaigns/:id/targeting', element: <TargetingPage /> },
      { path: 'campaigns/:id/live', element: <LivePage /> },
      { path: 'reports', element: <ReportsPage /> },
      { path: 'reports/top', element: <TopCampaignsPage /> },
      { path: 'creatives', element: <CreativesPage /> },
      { path: 'alerts', element: <AlertsPage /> },
      { path: 'alerts/new', element: <RuleCreatePage /> },
      { path: 'alerts/:id', element: <RuleDetailPage /> },
      { path: 'alerts/:id/edit', element: <RuleEditPage /> },
      {
        path: 'admin',
        element: (
          <AdminOnly>
            <AdminPage />
          </AdminOnly>
        ),
      },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

/** Restores the session on load, then shows the login or the app. */
export function App() {
  const session = useSessionManager();
  const { status } = useSession();
  useEffect(() => {
    if (session.getSnapshot().status === 'unknown') void session.restore();
  }, [session]);
  if (status === 'unknown') return <Pending label="Restoring your session…" />;
  if (status === 'anonymous') return <LoginPage />;
  return <RouterProvider router={router} />;
}
