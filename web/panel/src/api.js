// Talking to the panel's API: JSON both ways, the CSRF token on what
// changes something, and errors that say why ({"error": "..."} texts).
// The session lives in an HttpOnly cookie; no token is kept in storage.

export class ApiError extends Error {
  constructor(status, message, data = null) {
    super(message);
    this.status = status;
    this.data = data; // the answer's JSON body, for errors that say more than a message
  }
}

// The CSRF token the panel set (a readable cookie), sent on what changes something.
export function csrfToken() {
  const match = document.cookie.split('; ').find((c) => c.startsWith('pb_csrf='));
  return match ? decodeURIComponent(match.slice('pb_csrf='.length)) : '';
}

const expiredListeners = new Set();
// Called when a request finds the session gone (401): the app goes to log-in.
export function onSessionExpired(listener) {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'The panel cannot be reached: check your connection and try again.');
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message = data && typeof data.error === 'string' ? data.error
      : data && data.error && data.error.message ? data.error.message
      : `${method} ${path} failed: ${response.status} ${response.statusText}`;
    if (response.status === 401 && !path.startsWith('/api/auth/')) expiredListeners.forEach((l) => l());
    throw new ApiError(response.status, message, data);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);
