import { defineConfig, devices } from '@playwright/test';

// The suite starts its own `adpulse up` (e2e/global-setup.ts); see README
// "End-to-end tests" for the environment it reads.
export default defineConfig({
  testDir: './e2e',
  // `npm run screenshots` (docs/console/*.png) only when asked for.
  testIgnore: process.env.ADPULSE_E2E_SCREENSHOTS ? [] : ['screenshots/**'],
  globalSetup: './e2e/global-setup.ts',
  // 2 cores, shared: one browser at a time. A flaky test is a bug, not a retry.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : [['list']],
  use: {
    ...devices['Desktop Chrome'],
    viewport: { width: 1280, height: 800 },
    // Set by global setup before the workers start.
    baseURL: process.env.ADPULSE_E2E_BASE_URL,
    locale: 'en-GB',
    timezoneId: 'UTC',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.ADPULSE_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
