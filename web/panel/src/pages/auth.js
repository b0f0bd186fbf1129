// Log in and register (Sodium's /api/auth): the answer sets the session cookie.
import { html } from '../html.js';
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';
import { ErrorBox, Field, useSubmit } from '../ui.js';

export function AuthPage({ mode }) {
  const { setUser } = useSession();
  const registering = mode === 'register';
  const [form, setForm] = useState({ username: '', password: '', email: '' });
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const { busy, error, submit } = useSubmit(async () => {
    const body = { username: form.username, password: form.password };
    if (registering && form.email) body.email = form.email;
    const answer = await post(registering ? '/api/auth/register' : '/api/auth/login', body);
    setUser(answer.user);
  });

  const next = location.search;
  return html`<main class="auth" id="main">
    <form class="auth-card card" onSubmit=${submit} aria-labelledby="auth-title">
      <div class="brand auth-brand"><span class="brand-mark" aria-hidden="true"></span>patchbay</div>
      <h1 id="auth-title">${registering ? 'Create your account' : 'Log in'}</h1>
      <${ErrorBox} error=${error} />
      <${Field} label="Username">
        <input name="username" autocomplete="username" required minlength=${registering ? 3 : undefined} maxlength="20"
          value=${form.username} onInput=${set('username')} autofocus />
      <//>
      ${registering && html`<${Field} label="E-mail (optional)">
        <input name="email" type="email" autocomplete="email" value=${form.email} onInput=${set('email')} />
      <//>`}
      <${Field} label="Password" hint=${registering ? '6 to 128 characters' : undefined}>
        <input name="password" type="password" autocomplete=${registering ? 'new-password' : 'current-password'} required
          minlength=${registering ? 6 : undefined} value=${form.password} onInput=${set('password')} />
      <//>
      <button type="submit" class="btn btn-primary btn-wide" disabled=${busy}>${busy ? 'Please wait…' : registering ? 'Register' : 'Log in'}</button>
      <p class="auth-switch">
        ${registering
          ? html`Have an account? <${Link} href=${'/login' + next}>Log in<//>`
          : html`New here? <${Link} href=${'/register' + next}>Create an account<//>`}
      </p>
    </form>
  </main>`;
}
