// A real OpenID provider for Engage's tests and local trials: node's `oidc-provider`
// (a pinned dev dependency) on a loopback port, with one client registered for Engage.
//
//   node scripts/oidc_provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 9400, "client": {"client_id", "client_secret", "redirect_uris",
// "post_logout_redirect_uris"}, "accounts": {"<login>": {"password", "claims": {...}}},
// "test_controls": true}. The provider prints "ready <issuer>" once it listens.
//
// Its own login and consent pages check the account's password (no dev interactions, and
// nothing fetched from another origin). With "test_controls", two loopback-only endpoints
// let a test change the provider between sign-ins:
//   POST /__test/accounts  {"<login>": {...}}  replaces the accounts;
//   POST /__test/quirk     {"quirk": "..."}    makes the next token response misbehave once:
//     "tamper-signature" (the ID token's signature altered), "wrong-audience" and
//     "expired" (the ID token re-signed with the provider's own key, claims changed).
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = '127.0.0.1';
const issuer = `http://${host}:${config.port}`;
let accounts = config.accounts;
let quirk = null;

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_name: 'Engage',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      ...config.client,
    },
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'department', 'groups'],
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out of the provider?', `${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<p>You are signed out of the provider.</p>');
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('The provider refused', `<pre>${escapeHtml(JSON.stringify(out))}</pre>`);
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const account = accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
});
provider.proxy = false;

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] || '').startsWith('application/json')) return JSON.parse(text || '{}');
  return Object.fromEntries(new URLSearchParams(text));
}

async function misbehave(idToken, how) {
  const [header, payload, signature] = idToken.split('.');
  if (how === 'tamper-signature') {
    const flipped = signature[0] === 'A' ? 'B' : 'A';
    return `${header}.${payload}.${flipped}${signature.slice(1)}`;
  }
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  if (how === 'wrong-audience') claims.aud = 'another-application';
  if (how === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  const key = await jose.importJWK(signingJwk, 'RS256');
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid, typ: 'JWT' }).sign(key);
}

provider.use(async (ctx, next) => {
  const path = ctx.path;
  if (config.test_controls && path.startsWith('/__test/') && ctx.method === 'POST') {
    const body = await readForm(ctx.req);
    if (path === '/__test/accounts') accounts = body;
    else if (path === '/__test/quirk') quirk = body.quirk || null;
    else ctx.throw(404);
    ctx.body = { ok: true };
    return;
  }
  const match = path.match(/^\/interaction\/([^/]+)(\/(login|confirm))?$/);
  if (!match) {
    await next();
    if (path === '/token' && quirk && ctx.status === 200 && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: await misbehave(ctx.body.id_token, quirk) };
      quirk = null;
    }
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  const client = await provider.Client.find(params.client_id);
  const action = match[3];
  if (!action && prompt.name === 'login') {
    ctx.type = 'html';
    ctx.body = page(
      'Sign in to the identity provider',
      `<p>${escapeHtml(client.clientName)} asks you to sign in.</p>
<form method="post" action="/interaction/${details.uid}/login">
<label>Username <input name="login" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`,
    );
    return;
  }
  if (!action && prompt.name === 'consent') {
    ctx.type = 'html';
    ctx.body = page(
      'Allow access',
      `<p>${escapeHtml(client.clientName)} asks for your email address and profile (${escapeHtml(params.scope)}).</p>
<form method="post" action="/interaction/${details.uid}/confirm"><button type="submit">Allow</button></form>`,
    );
    return;
  }
  if (action === 'login' && ctx.method === 'POST') {
    const form = await readForm(ctx.req);
    const account = accounts[form.login];
    if (!account || account.password !== form.password) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Sign in to the identity provider', '<p>Wrong username or password.</p>');
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: form.login } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (action === 'confirm' && ctx.method === 'POST') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  ctx.throw(400, 'unexpected interaction step');
});

provider.listen(config.port, host, () => {
  console.log(`ready ${issuer}`);
});
