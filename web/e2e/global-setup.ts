// Starts one `adpulse up` for the whole run; the returned function is
// Playwright's teardown (it runs also when tests fail).
import type { FullConfig } from '@playwright/test';
import { SERVER_ENV, startServer } from './support/server';

export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const { info, stop } = await startServer();
  // Workers inherit the environment of the runner.
  process.env[SERVER_ENV] = JSON.stringify(info);
  process.env.ADPULSE_E2E_BASE_URL = info.baseURL;
  const onSignal = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
  };
}
