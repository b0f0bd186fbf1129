// Creating a server. A plugin may refuse it (server:beforeCreate): its
// reason is shown here, at the form.
import { html } from '../html.js';
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { navigate } from '../router.js';
import { Card, ErrorBox, Field, PageHeader, useSubmit } from '../ui.js';

export function NewServer() {
  const [form, setForm] = useState({ name: '', description: '', memory: 1024, disk: 2048, cpu: 100 });
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const { busy, error, submit } = useSubmit(async () => {
    const { server } = await post('/api/servers', {
      name: form.name, description: form.description,
      memory: Number(form.memory), disk: Number(form.disk), cpu: Number(form.cpu),
    });
    navigate(`/servers/${server.id}`);
  });
  return html`<div class="page">
    <${PageHeader} title="New server" subtitle="It starts offline; start it from its page." />
    <${Card}>
      <form class="form" onSubmit=${submit}>
        <${ErrorBox} error=${error} />
        <${Field} label="Name"><input name="name" required maxlength="50" value=${form.name} onInput=${set('name')} autofocus /><//>
        <${Field} label="Description"><textarea name="description" maxlength="200" rows="2" value=${form.description} onInput=${set('description')}></textarea><//>
        <div class="form-row">
          <${Field} label="Memory (MiB)"><input name="memory" type="number" min="128" step="128" required value=${form.memory} onInput=${set('memory')} /><//>
          <${Field} label="Disk (MiB)"><input name="disk" type="number" min="256" step="256" required value=${form.disk} onInput=${set('disk')} /><//>
          <${Field} label="CPU (%)"><input name="cpu" type="number" min="1" max="1000" required value=${form.cpu} onInput=${set('cpu')} /><//>
        </div>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Creating…' : 'Create server'}</button>
        </div>
      </form>
    <//>
  </div>`;
}
