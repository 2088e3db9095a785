import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The scale-out spec: scripts/scale-out.sh starts three instances behind HAProxy and passes
// their addresses; the page under test is served through the balancer.
export default defineConfig({
  ...base,
  testDir: './scale-out',
  timeout: 90_000,
  use: { ...base.use, baseURL: process.env.BALANCER_URL },
});
