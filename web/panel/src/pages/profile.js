// Your account: password, and the sessions signed in as you.
import { html } from '../html.js';
import { useState } from 'preact/hooks';
import { del, put } from '../api.js';
import { useResource } from '../data.js';
import { useSession } from '../session.js';
import { ActionButton, Card, ErrorBox, Field, Loading, Notice, PageHeader, formatTime } from '../ui.js';

function PasswordForm() {
  const [form, setForm] = useState({ currentPassword: '', newPassword: '', confirm: '' });
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    if (form.newPassword !== form.confirm) return setError(new Error('The new passwords do not match.'));
    try {
      await put('/api/user/password', { currentPassword: form.currentPassword, newPassword: form.newPassword });
      setForm({ currentPassword: '', newPassword: '', confirm: '' });
      setDone(true);
    } catch (err) {
      setError(err);
    }
  };
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  return html`<form class="form" onSubmit=${submit}>
    <${ErrorBox} error=${error} />
    ${done && html`<${Notice} kind="success">Password changed. Your other sessions were signed out.<//>`}
    <${Field} label="Current password"><input type="password" autocomplete="current-password" required value=${form.currentPassword} onInput=${set('currentPassword')} /><//>
    <${Field} label="New password" hint="6 to 128 characters"><input type="password" autocomplete="new-password" required minlength="6" maxlength="128" value=${form.newPassword} onInput=${set('newPassword')} /><//>
    <${Field} label="New password, again"><input type="password" autocomplete="new-password" required value=${form.confirm} onInput=${set('confirm')} /><//>
    <div class="form-actions"><button type="submit" class="btn btn-primary">Change password</button></div>
  </form>`;
}

function Sessions() {
  const { data, error, reload } = useResource('/api/user/sessions');
  const [actionError, setActionError] = useState(null);
  if (!data) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} />`;
  const others = data.sessions.filter((s) => !s.current).length;
  return html`<div>
    <${ErrorBox} error=${actionError} />
    <table class="table">
      <thead><tr><th>Browser</th><th>Address</th><th>Since</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${data.sessions.map((s) => html`<tr key=${s.id}>
        <td>${s.userAgent || 'unknown'} ${s.current && html`<span class="tag">this one</span>`}</td>
        <td>${s.ip}</td><td>${formatTime(s.createdAt)}</td>
        <td>${!s.current && html`<${ActionButton} onError=${setActionError} action=${async () => {
          await del(`/api/user/sessions/${s.id}`);
          reload();
        }}>End<//>`}</td></tr>`)}</tbody>
    </table>
    ${others > 0 && html`<p><${ActionButton} kind="danger" onError=${setActionError} action=${async () => {
      await del('/api/user/sessions');
      reload();
    }}>Log out everywhere else<//></p>`}
  </div>`;
}

export function Profile() {
  const { user } = useSession();
  return html`<div class="page">
    <${PageHeader} title="Profile" subtitle=${`${user.username}${user.email ? ' · ' + user.email : ''} · ${user.role}`} />
    <div class="grid-2">
      <${Card} title="Password"><${PasswordForm} /><//>
      <${Card} title="Sessions"><${Sessions} /><//>
    </div>
  </div>`;
}
