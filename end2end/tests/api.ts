import { APIRequestContext, expect, request } from '@playwright/test';

/** An API client signed in with an admin token, for seeding data the way a CI pipeline would. */
export async function adminApi(baseURL: string): Promise<APIRequestContext> {
  const login = await request.newContext({ baseURL });
  const signedIn = await login.post('/api/auth/login', {
    data: { username: 'admin', password: process.env.ADMIN_PASSWORD },
  });
  expect(signedIn.status()).toBe(200);
  const token = await login.post('/api/tokens', { data: { name: `e2e-${Date.now()}` } });
  expect(token.status()).toBe(201);
  const secret = (await token.json()).token;
  await login.dispose();
  return request.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${secret}` } });
}

export async function create(api: APIRequestContext, path: string, data: object) {
  const response = await api.post(path, { data });
  expect(response.status(), `${path}: ${await response.text()}`).toBe(201);
  return response.json();
}

export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** Records a deployment through the API. */
export async function record(api: APIRequestContext, applicationId: string, versionId: string, environmentId: string, when: string) {
  return create(api, '/api/deployments', { applicationId, versionId, environmentId, deploymentDate: when });
}

/** One application with versions, and environments, uniquely named. */
export async function seedCatalog(api: APIRequestContext, suffix: string) {
  const portal = await create(api, '/api/applications', { name: `Customer Portal ${suffix}` });
  const billing = await create(api, '/api/applications', { name: `Billing ${suffix}` });
  const versions: Record<string, string> = {};
  for (const v of ['1.1.0', '1.2.0']) {
    versions[v] = (await create(api, `/api/applications/${portal.id}/versions`, { versionIdentifier: v })).id;
  }
  const billingVersion = (await create(api, `/api/applications/${billing.id}/versions`, { versionIdentifier: '9.9.9' })).id;
  const dev = await create(api, '/api/environments', { name: `DEV-${suffix}` });
  const prod = await create(api, '/api/environments', { name: `PROD-EU-${suffix}`, isProduction: true });
  return { portal, billing, versions, billingVersion, dev, prod };
}
