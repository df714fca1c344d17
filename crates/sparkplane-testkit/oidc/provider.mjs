// A real OpenID Connect provider for the sign-in tests: npm's oidc-provider
// (OpenID Certified), installed by scripts/common.sh need_oidc_provider and
// started on 127.0.0.1 by sparkplane-testkit's `oidc` module (issue #65).
//
//   OIDC_PROVIDER_HOME=DIR node provider.mjs SETTINGS.json
//
// DIR is where need_oidc_provider installed the package.
// SETTINGS: {"port": N (0: any free port),
//   "keys_file": path of the signing keys (a JSON list of private JWKs, the
//     first signs; created with one new RSA key when missing),
//   "new_key": true to put a new RSA key first (a key rotation; the older
//     keys stay published),
//   "drop_old_keys": true to publish only the first key,
//   "clients": [{"id", "secret", "redirect_uris": [...]}],
//   "people": {"user": ["group", ...], ...}, "id_token_ttl": seconds}
// Any login with a user in "people" and any password is accepted (the
// provider's development login page): the tests are about the relying
// party, not about passwords. Prints "listening ISSUER" once it serves, and
// stops when its standard input closes (the test ended or was killed).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const home = process.env.OIDC_PROVIDER_HOME;
const { default: Provider } = await import(pathToFileURL(join(home, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href);

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const people = settings.people;

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}
let keys = existsSync(settings.keys_file) ? JSON.parse(readFileSync(settings.keys_file, 'utf8')) : [];
if (keys.length === 0 || settings.new_key) keys = [newKey(), ...keys];
if (settings.drop_old_keys) keys = keys.slice(0, 1);
writeFileSync(settings.keys_file, JSON.stringify(keys));

const server = createServer();
server.listen(settings.port ?? 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: settings.clients.map((client) => ({
      client_id: client.id,
      client_secret: client.secret,
      redirect_uris: client.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys },
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
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});
process.stdin.on('end', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
process.stdin.resume();
