// The Tessera demo page: sign in, list the items, place an order and draw who each service saw.
// No framework and no build step. Data from the API reaches the DOM only through textContent.

const { login = 'none', mode = 'public', issuer = '', clientId = '', scope = '' } = document.body.dataset;
/** The shop's routes behind the gateway. */
const routes = { orders: '/api/orders/orders', items: '/api/inventory/items' };
/**
 * Token mode's sign-in at the token service: the path it sends the browser back to (this page's
 * callback), the `state` a sign-out there comes back with, and the sessionStorage key of the
 * sign-in in progress (state and PKCE verifier) while the browser is away.
 */
const signIn = { callback: '/_tessera/callback', signedOut: 'signed-out', pending: 'tessera.sign-in' };
let csrf = '';

/**
 * Token mode's tokens: in this variable only, never in localStorage, sessionStorage or a cookie,
 * so no other script of this origin finds them at rest, and a reload signs the page out (the token
 * service's own session signs it in again without a password).
 */
let tokens = null;

const byId = (id) => document.getElementById(id);
const show = (id, visible) => {
  byId(id).hidden = !visible;
};

/** An element with attributes (`text` becomes textContent) and children. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** The status area: an error (default) or a notice; an empty message hides it. */
function status(message, kind = 'error') {
  const area = byId('status');
  area.textContent = message;
  area.dataset.kind = kind;
  area.hidden = message === '';
}

/** One request to the gateway, JSON both ways; an unsafe method carries the CSRF token, token mode the access token. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== '') headers['x-csrf-token'] = csrf;
  if (tokens !== null) headers.authorization = `Bearer ${tokens.access}`;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (response.headers.get('content-type') ?? '').includes('application/json');
  return { status: response.status, ok: response.ok, data: json ? await response.json() : null };
}

/**
 * A one-line description of a failed answer: Tessera's JSON `{ error: { code, message } }`, or
 * an OAuth error `{ error, error_description? }` from the token service.
 */
function problem(answer, doing) {
  const body = answer.data !== null && typeof answer.data === 'object' ? answer.data : {};
  const error = body.error !== null && typeof body.error === 'object' ? body.error : {};
  const detail = error.message ?? body.error_description ?? body.error;
  return `${doing} failed (${answer.status})${typeof detail === 'string' ? `: ${detail}` : ''}`;
}

/** Runs a handler; a network failure or a bug lands in the status area, never unhandled. */
const guarded =
  (handler) =>
  (...args) =>
    handler(...args).catch((error) => status(`Something went wrong: ${error.message}`));

const money = (cents) => (cents / 100).toFixed(2);

// --- The mode, named ------------------------------------------------------------------------

const MODES = {
  session: [
    'Session mode',
    'The gateway signs you in with its own form and keeps a server-side session behind a cookie. Each service gets a short-lived session reference made for it alone; no token reaches the browser or the services.',
  ],
  hybrid: [
    'Hybrid mode',
    "You sign in at the token service; the gateway keeps the tokens in its server-side session, the browser holds only the session cookie, and the services get the session's access token.",
  ],
  token: [
    'Token mode',
    'This page signs you in at the token service itself (code + PKCE) and holds the access token in memory; the gateway and every service verify it.',
  ],
  public: ['Public', 'No route of this gateway needs a signed-in user.'],
  mixed: ['Mixed modes', 'The routes of this gateway use different modes.'],
};

function nameTheMode() {
  const [name, about] = MODES[mode] ?? MODES.public;
  byId('mode-name').textContent = name;
  byId('mode-about').textContent = about;
}

// --- Token mode: the page as a browser application of the token service ---------------------

let metadata = null;

/** The token service's endpoints, from its discovery document (the token service answers CORS for this origin). */
async function discover() {
  if (metadata !== null) return metadata;
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    credentials: 'omit',
  });
  if (!response.ok) throw new Error(`the token service's discovery answered ${response.status}`);
  const document = await response.json();
  if (document.issuer !== issuer) throw new Error('the discovery document names another issuer');
  metadata = document;
  return metadata;
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomToken = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${window.location.origin}${signIn.callback}`;

/** To the token service's login page: a fresh state and PKCE verifier, the S256 challenge in the URL. */
async function startBrowserSignIn() {
  const { authorization_endpoint: endpoint } = await discover();
  const state = randomToken();
  const verifier = randomToken();
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  // The one thing that must outlive the trip to the token service, and it is no token: a
  // one-use state and verifier for this tab, removed as soon as the browser is back.
  sessionStorage.setItem(signIn.pending, JSON.stringify({ state, verifier }));
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri(),
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.href);
}

/** Words for an error a token service sends back to the callback. */
function signInError(code) {
  if (code === 'access_denied') return 'the sign-in was cancelled at the token service';
  return `the token service answered ${code}`;
}

/** Back from the token service at signIn.callback: the code for tokens (in memory), or the reason it failed. */
async function finishBrowserSignIn() {
  const query = new URLSearchParams(window.location.search);
  const pending = JSON.parse(sessionStorage.getItem(signIn.pending) ?? 'null');
  sessionStorage.removeItem(signIn.pending);
  // The code is one-use and the URL is about to be left; the page lives on at `/`.
  window.history.replaceState(null, '', '/');
  const failed = (reason) => status(`Sign-in did not complete: ${reason}. Press "Sign in" to try again.`);
  if (pending === null || query.get('state') !== pending.state) {
    return failed('this sign-in was not started in this tab, or was already used');
  }
  const { issuer: named } = await discover();
  if (query.has('iss') && query.get('iss') !== named)
    return failed('the answer does not come from the token service');
  if (query.has('error')) return failed(signInError(query.get('error')));
  const code = query.get('code');
  if (code === null) return failed('the token service sent no code');
  const { token_endpoint: endpoint } = await discover();
  const response = await fetch(endpoint, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: clientId,
      code_verifier: pending.verifier,
    }),
  });
  const answer = { status: response.status, ok: response.ok, data: await response.json().catch(() => null) };
  if (!answer.ok) return failed(problem(answer, 'redeeming the code'));
  if (typeof answer.data?.access_token !== 'string') return failed('the token service sent no access token');
  tokens = { access: answer.data.access_token, id: answer.data.id_token };
  status('');
}

/** Who the access token is for: the token service's /userinfo. */
async function userinfo() {
  const { userinfo_endpoint: endpoint } = await discover();
  const response = await fetch(endpoint, {
    credentials: 'omit',
    headers: { authorization: `Bearer ${tokens.access}`, accept: 'application/json' },
  });
  if (!response.ok)
    return { status: response.status, ok: false, data: await response.json().catch(() => null) };
  const claims = await response.json();
  return {
    status: 200,
    ok: true,
    data: { subject: claims.sub, username: claims.preferred_username ?? claims.sub },
  };
}

/** Token mode's sign-out: the access token revoked, forgotten, and the token service's session ended. */
async function browserSignOut() {
  const held = tokens;
  tokens = null;
  if (held === null) return;
  const { revocation_endpoint: revoke, end_session_endpoint: endSession } = await discover();
  await fetch(revoke, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: held.access, token_type_hint: 'access_token', client_id: clientId }),
  }).catch(() => undefined);
  if (endSession === undefined || held.id === undefined) return;
  const url = new URL(endSession);
  url.search = new URLSearchParams({
    id_token_hint: held.id,
    post_logout_redirect_uri: `${window.location.origin}/`,
    state: signIn.signedOut,
  }).toString();
  window.location.assign(url.href);
  return 'navigating';
}

// --- Signed out, signed in ------------------------------------------------------------------

function showSignedOut() {
  csrf = '';
  for (const id of ['whoami', 'signed-in', 'last-order']) show(id, false);
  show('signed-out', true);
  show('login-form', login === 'form');
  show('login-redirect', login === 'redirect' || login === 'browser');
  show('login-redirect-about', login === 'redirect' || login === 'browser');
  show('login-none', login === 'none');
}

/** Who is signed in: the gateway's /auth/me (session, hybrid) or the token service's /userinfo (token). */
async function whoami() {
  if (login === 'browser') return tokens === null ? { status: 401, ok: false } : userinfo();
  return api('GET', '/auth/me');
}

async function refresh() {
  if (login === 'none') return showSignedOut();
  const me = await whoami();
  if (me.status === 401) {
    if (tokens !== null) {
      tokens = null;
      status('Your sign-in has expired. Sign in again.', 'notice');
    }
    return showSignedOut();
  }
  if (!me.ok) return status(problem(me, 'Finding out who you are'));
  csrf = me.data.csrf_token ?? '';
  byId('me-username').textContent = me.data.username;
  byId('me-subject').textContent = me.data.subject;
  show('signed-out', false);
  show('whoami', true);
  show('signed-in', true);
  await Promise.all([loadItems(), loadOrders()]);
}

async function loadItems() {
  const answer = await api('GET', routes.items);
  if (!answer.ok) return status(problem(answer, 'Loading the items'));
  const rows = answer.data.map((item) => {
    const quantity = el('input', {
      type: 'number',
      min: '1',
      max: '1000',
      value: '1',
      'aria-label': `Quantity of ${item.name}`,
      'data-testid': 'quantity',
    });
    const button = el('button', { type: 'button', text: 'Order', 'data-testid': 'order' });
    button.addEventListener(
      'click',
      guarded(async () => {
        button.disabled = true;
        try {
          await placeOrder(item.id, Number(quantity.value));
        } finally {
          button.disabled = false;
        }
      }),
    );
    return el(
      'tr',
      { 'data-testid': 'item-row', 'data-item': item.id },
      el('td', { text: item.name, class: 'name' }),
      el('td', { text: money(item.price), class: 'number', 'data-label': 'Price' }),
      el('td', {
        text: String(item.stock),
        class: 'number',
        'data-label': 'Stock',
        'data-testid': 'item-stock',
      }),
      el('td', { class: 'quantity' }, quantity),
      el('td', { class: 'action' }, button),
    );
  });
  byId('items').tBodies[0].replaceChildren(...rows);
}

async function loadOrders() {
  const answer = await api('GET', routes.orders);
  if (!answer.ok) return status(problem(answer, 'Loading your orders'));
  const rows = answer.data.map((order) =>
    el('li', {
      'data-testid': 'order-row',
      'data-order': order.id,
      text: `${order.quantity} × ${order.item}, ${money(order.amount)}, ${order.status} (${order.id})`,
    }),
  );
  if (rows.length === 0) rows.push(el('li', { text: 'No orders yet.' }));
  byId('orders').replaceChildren(...rows);
}

async function placeOrder(item, quantity) {
  const answer = await api('POST', routes.orders, { item, quantity });
  if (answer.status !== 201) {
    status(problem(answer, 'Placing the order'));
    if (answer.status === 401) await refresh();
    return;
  }
  status('');
  const { order, trace, calls = [] } = answer.data;
  byId('order-summary').textContent =
    `Order ${order.id}: ${order.quantity} × ${order.item}, ${money(order.amount)}, ${order.status}`;
  byId('trace').replaceChildren(...tree(trace, calls));
  byId('legend').replaceChildren(...legend());
  show('last-order', true);
  await Promise.all([loadItems(), loadOrders()]);
}

// --- The trace: the call tree, as each service verified its caller --------------------------

/** The actors of a nested `act` claim, the current one first (RFC 8693 section 4.1). */
function actors(act) {
  const subjects = [];
  for (let actor = act; actor !== null && typeof actor === 'object'; actor = actor.act) {
    subjects.push(String(actor.sub));
  }
  return subjects;
}

/** Session mode's services verified a session reference; every other mode's a token. */
const sessionMode = () => mode === 'session';

/** One box of the trace: the identity one service verified, and the calls it made inside it. */
function hop(entry, children) {
  const fields = el('dl');
  const field = (name, value, absent = '—') =>
    fields.append(
      el('dt', { text: name }),
      el('dd', { text: value ?? absent, 'data-testid': `hop-${name}` }),
    );
  field('sub', entry.sub);
  field('client_id', entry.client_id);
  field('aud', Array.isArray(entry.aud) ? entry.aud.join(' ') : entry.aud);
  field('scope', entry.scope, sessionMode() ? '— (a session has none)' : '—');
  const act = actors(entry.act);
  field('act', act.length > 0 ? act.join(' ← ') : undefined);
  // What the token was bound to and this hop checked: the DPoP key (jkt) whose proof came with it,
  // or its caller's TLS certificate (x5t#S256). Shown only for a bound token.
  if (entry.binding) field(entry.binding.kind, entry.binding.value);
  const what = sessionMode() ? 'verified a session reference' : 'verified an access token';
  const box = el(
    'div',
    { class: 'box' },
    el('h4', {}, el('span', { text: entry.service }), el('small', { text: what })),
    fields,
  );
  const item = el('li', { class: 'hop', 'data-testid': 'hop', 'data-service': entry.service }, box);
  if (children.length > 0) {
    item.append(
      el('p', { class: 'calls-label', text: `${entry.service} called` }),
      el('ul', { class: 'calls', 'data-testid': 'calls' }, ...children),
    );
  }
  return item;
}

/** The trace as a tree: `calls` says which service called which; a service nobody called is a root. */
function tree(trace, calls) {
  const called = new Set(calls.map((call) => call.to));
  const entryOf = new Map(trace.map((entry) => [entry.service, entry]));
  const build = (entry, seen) => {
    const next = new Set([...seen, entry.service]);
    const children = calls
      .filter((call) => call.from === entry.service && !next.has(call.to) && entryOf.has(call.to))
      .map((call) => build(entryOf.get(call.to), next));
    return hop(entry, children);
  };
  return trace.filter((entry) => !called.has(entry.service)).map((entry) => build(entry, new Set()));
}

const MEANINGS = {
  token: [
    ['sub', 'The user the call is made for: the same at every hop, however far the call goes.'],
    [
      'client_id',
      "The application the token was issued to: at orders, the one you signed in with (this page's own client in token mode, the gateway in hybrid mode); orders at inventory and payments, because orders exchanged your token for one of its own for each call.",
    ],
    ['aud', 'Who the token is for: each service refuses a token made for another.'],
    ['scope', 'What the token allows, narrowed at each exchange to what that one call needs.'],
    [
      'act',
      'Who acts on your behalf (RFC 8693 delegation): orders, at the services it calls; none at orders, which your application called directly.',
    ],
    [
      'jkt',
      "With --dpop: the thumbprint of the key whose proof the service checked (the token's cnf.jkt): the gateway's at orders, orders' at inventory and payments. A token copied from any hop is useless without that key.",
    ],
    [
      'x5t#S256',
      "With --mtls: the thumbprint of the client certificate the service saw on the TLS connection (the token's cnf.x5t#S256): the gateway's at orders, orders' at inventory and payments. A token copied from a hop is refused over any other certificate.",
    ],
  ],
  session: [
    [
      'sub',
      'The user of the session: the reference names the session by its hash, never by the cookie, which stays at the gateway.',
    ],
    [
      'client_id',
      'The part that made the session reference: the gateway at orders; orders at inventory and payments, which it calls with references of its own.',
    ],
    ['aud', 'The one service the reference was made for (and one route, for 30 seconds).'],
    [
      'scope',
      'None in session mode: a session records that you signed in, not what you allowed, so a service learns who is behind a call and through whom, but no consent.',
    ],
    [
      'act',
      "The chain of services after the gateway that the reference passed through (orders), read as a token's act claim would be.",
    ],
  ],
};

function legend() {
  return (MEANINGS[sessionMode() ? 'session' : 'token'] ?? []).flatMap(([name, meaning]) => [
    el('dt', { text: name }),
    el('dd', { text: meaning }),
  ]);
}

// --- Wiring ---------------------------------------------------------------------------------

/** Follows a URL the gateway gave (hybrid logout); only http(s), never a script URL. */
function navigate(next) {
  const url = new URL(next, window.location.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return status('Sign-out gave an unusable URL.');
  window.location.assign(url.href);
}

byId('login-form').addEventListener(
  'submit',
  guarded(async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const answer = await api('POST', '/auth/login', {
      username: form.get('username'),
      password: form.get('password'),
    });
    byId('password').value = '';
    if (!answer.ok) return status(problem(answer, 'Signing in'));
    status('');
    await refresh();
  }),
);

byId('login-redirect').addEventListener(
  'click',
  guarded(async () => {
    if (login === 'browser') return startBrowserSignIn();
    window.location.assign('/auth/login?return_to=/');
  }),
);

byId('logout').addEventListener(
  'click',
  guarded(async () => {
    if (login === 'browser') {
      if ((await browserSignOut()) === 'navigating') return;
    } else {
      const answer = await api('POST', '/auth/logout');
      if (!answer.ok) return status(problem(answer, 'Signing out'));
      if (answer.status === 200 && typeof answer.data?.next === 'string') return navigate(answer.data.next);
    }
    status('Signed out.', 'notice');
    await refresh();
  }),
);

/** The first load: back from a sign-in or a sign-out at the token service, or a plain visit. */
async function start() {
  nameTheMode();
  const query = new URLSearchParams(window.location.search);
  if (login === 'browser' && window.location.pathname === signIn.callback) {
    await finishBrowserSignIn();
  } else if (query.get('state') === signIn.signedOut) {
    window.history.replaceState(null, '', window.location.pathname);
    status('Signed out.', 'notice');
  }
  await refresh();
}

guarded(start)();
