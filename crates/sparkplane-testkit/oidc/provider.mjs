// A real OpenID Connect provider for the sign-in tests: npm's oidc-provider
// (OpenID Certified), installed by scripts/common.sh need_oidc_provider and
// started on 127.0.0.1 by the sign-in tests (issue #65; none starts it yet).
//
//   OIDC_PROVIDER_HOME=DIR node provider.mjs SETTINGS.json
//
// DIR is where need_oidc_provider installed the package.
// SETTINGS: {"port": N, "keys": [private JWKs, the first signs],
//   "client": {"id", "secret", "redirect_uris": [...]},
//   "people": {"user": ["group", ...], ...}, "id_token_ttl": seconds}
// Any login with a user in "people" and any password is accepted (the
// provider's development login page): the tests are about the relying
// party, not about passwords. Prints "listening ISSUER" once it serves, and
// stops when its standard input closes (the test ended or was killed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const home = process.env.OIDC_PROVIDER_HOME;
const { default: Provider } = await import(pathToFileURL(join(home, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href);

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;
const people = settings.people;

const provider = new Provider(issuer, {
  clients: [{
    client_id: settings.client.id,
    client_secret: settings.client.secret,
    redirect_uris: settings.client.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: settings.keys },
  scopes: ['openid', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
  // The person's claims in the ID token itself, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  ttl: { IdToken: settings.id_token_ttl ?? 3600 },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(people, id)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, groups: people[id] };
      },
    };
  },
  async loadExistingGrant(ctx) {
    // Consent is not what these tests are about: every client scope is granted.
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile groups');
    await grant.save();
    return grant;
  },
});
provider.on('server_error', (ctx, error) => console.error('provider error:', error.message));

const server = provider.listen(settings.port, '127.0.0.1', () => console.log(`listening ${issuer}`));
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
