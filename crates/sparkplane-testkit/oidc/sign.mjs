// Signs a JWT with the first key of a provider.mjs keys file, as the provider
// would: for the sign-in tests' tokens no real provider issues (one not valid
// yet, one with claims a test chooses).
//
//   OIDC_PROVIDER_HOME=DIR node sign.mjs KEYS_FILE CLAIMS_JSON
//
// Prints the token. jose is the library oidc-provider itself signs with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const home = process.env.OIDC_PROVIDER_HOME;
const { importJWK, SignJWT } = await import(pathToFileURL(join(home, 'node_modules', 'jose', 'dist', 'webapi', 'index.js')).href);
const [key] = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const claims = JSON.parse(process.argv[3]);
const signing = await importJWK(key, 'RS256');
console.log(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(signing));
