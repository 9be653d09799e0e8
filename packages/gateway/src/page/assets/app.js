// The Tessera demo page: sign in, list the items, place an order and draw who each service saw.
// No framework and no build step. Data from the API reaches the DOM only through textContent.

const login = document.body.dataset.login ?? 'none';
const ORDERS = '/api/orders/orders';
const ITEMS = '/api/inventory/items';
let csrf = '';

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

/** One request to the gateway, JSON both ways; an unsafe method carries the CSRF token. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== '') headers['x-csrf-token'] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (response.headers.get('content-type') ?? '').includes('application/json');
  return { status: response.status, ok: response.ok, data: json ? await response.json() : null };
}

/** A one-line description of a failed answer ({ error, error_description? | message? }). */
function problem(answer, doing) {
  const body = answer.data !== null && typeof answer.data === 'object' ? answer.data : {};
  const detail = body.error_description ?? body.message ?? body.error;
  return `${doing} failed (${answer.status})${typeof detail === 'string' ? `: ${detail}` : ''}`;
}

/** Runs a handler; a network failure or a bug lands in the status area, never unhandled. */
const guarded =
  (handler) =>
  (...args) =>
    handler(...args).catch((error) => status(`Something went wrong: ${error.message}`));

const money = (cents) => (cents / 100).toFixed(2);

function showSignedOut() {
  csrf = '';
  for (const id of ['whoami', 'signed-in', 'last-order']) show(id, false);
  show('signed-out', true);
  show('login-form', login === 'form');
  show('login-redirect', login === 'redirect');
  show('login-none', login === 'none');
}

async function refresh() {
  if (login === 'none') return showSignedOut();
  const me = await api('GET', '/auth/me');
  if (me.status === 401) return showSignedOut();
  if (!me.ok) return status(problem(me, 'Finding out who you are'));
  csrf = me.data.csrf_token;
  byId('me-username').textContent = me.data.username;
  byId('me-subject').textContent = me.data.subject;
  show('signed-out', false);
  show('whoami', true);
  show('signed-in', true);
  await Promise.all([loadItems(), loadOrders()]);
}

async function loadItems() {
  const answer = await api('GET', ITEMS);
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
      el('td', { text: item.name }),
      el('td', { text: money(item.price), class: 'number' }),
      el('td', { text: String(item.stock), class: 'number', 'data-testid': 'item-stock' }),
      el('td', {}, quantity),
      el('td', {}, button),
    );
  });
  byId('items').tBodies[0].replaceChildren(...rows);
}

async function loadOrders() {
  const answer = await api('GET', ORDERS);
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
  const answer = await api('POST', ORDERS, { item, quantity });
  if (answer.status !== 201) {
    status(problem(answer, 'Placing the order'));
    if (answer.status === 401) await refresh();
    return;
  }
  status('');
  const { order, trace } = answer.data;
  byId('order-summary').textContent =
    `Order ${order.id}: ${order.quantity} × ${order.item}, ${money(order.amount)}, ${order.status}`;
  byId('trace').replaceChildren(...trace.map(hop));
  show('last-order', true);
  await Promise.all([loadItems(), loadOrders()]);
}

/** The actors of a nested `act` claim, the current one first (RFC 8693 section 4.1). */
function actors(act) {
  const subjects = [];
  for (let actor = act; actor !== null && typeof actor === 'object'; actor = actor.act) {
    subjects.push(String(actor.sub));
  }
  return subjects;
}

/** One box of the trace: the identity one service verified. */
function hop(entry) {
  const fields = el('dl');
  const field = (name, value) =>
    fields.append(el('dt', { text: name }), el('dd', { text: value ?? '—', 'data-testid': `hop-${name}` }));
  field('sub', entry.sub);
  field('client_id', entry.client_id);
  field('aud', Array.isArray(entry.aud) ? entry.aud.join(' ') : entry.aud);
  field('scope', entry.scope);
  const act = actors(entry.act);
  field('act', act.length > 0 ? act.join(' ← ') : undefined);
  return el(
    'li',
    { class: 'hop', 'data-testid': 'hop', 'data-service': entry.service },
    el('div', { class: 'box' }, el('h4', { text: entry.service }), fields),
  );
}

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

byId('login-redirect').addEventListener('click', () => {
  window.location.assign('/auth/login?return_to=/');
});

byId('logout').addEventListener(
  'click',
  guarded(async () => {
    const answer = await api('POST', '/auth/logout');
    if (!answer.ok) return status(problem(answer, 'Signing out'));
    if (answer.status === 200 && typeof answer.data?.next === 'string') return navigate(answer.data.next);
    status('Signed out.', 'notice');
    await refresh();
  }),
);

guarded(refresh)();
