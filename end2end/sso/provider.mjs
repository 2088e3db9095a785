// A certified OpenID provider (npm's oidc-provider) on loopback for the single sign-on browser
// tests. Anyone may sign in with any name and password (its development login screen); a
// person's groups are read at each sign-in from the JSON file OIDC_GROUPS_FILE
// ({"<login>": ["group", …]}), so a test changes them between sign-ins.
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const groupsFile = process.env.OIDC_GROUPS_FILE;

const groupsOf = (login) => {
  try {
    return JSON.parse(fs.readFileSync(groupsFile, 'utf8'))[login] ?? [];
  } catch {
    return [];
  }
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'deploytrack',
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  scopes: ['openid', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
  // The groups go into the ID token itself, as deploytrack reads them there.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['deploytrack-e2e-only'] },
  async findAccount(_ctx, login) {
    return {
      accountId: login,
      async claims() {
        return { sub: login, preferred_username: login, name: `Person ${login}`, groups: groupsOf(login) };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider at ${issuer}`));
