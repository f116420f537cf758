// The console's calls to the node's admin API. The session is an HttpOnly
// cookie the page never sees; the CSRF token lives in this module's memory
// only (never localStorage) and goes out on every request that changes anything.
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
  }
  return data;
}

export const api = {
  get: (path) => call('GET', path),
  post: (path, body) => call('POST', path, body),
  put: (path, body) => call('PUT', path, body),
  del: (path) => call('DELETE', path),
  setCsrf(token) {
    csrfToken = token;
  },
  async session() {
    const s = await call('GET', '/api/admin/session');
    csrfToken = s.csrf_token;
    return s;
  },
  async signIn(email, password) {
    const s = await call('POST', '/api/admin/session', { email, password });
    csrfToken = s.csrf_token;
    return s;
  },
  async signOut() {
    await call('DELETE', '/api/admin/session');
    csrfToken = null;
  },
};
