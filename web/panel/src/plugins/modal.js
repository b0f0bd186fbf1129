// A plugin's modal.show / modal.confirm: the panel's own dialog (a plugin
// cannot draw outside its frame), answered with true or false.
export function ask({ title, message, confirmText, cancelText, danger, confirm, plugin }) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'modal';
    const heading = document.createElement('h2');
    heading.textContent = title || plugin || 'Plugin';
    const text = document.createElement('p');
    text.textContent = message || '';
    const from = document.createElement('p');
    from.className = 'modal-from';
    from.textContent = plugin ? `From the plugin ${plugin}` : '';
    const actions = document.createElement('div');
    actions.className = 'modal-actions';
    const ok = document.createElement('button');
    ok.type = 'button';
    ok.className = danger ? 'btn btn-danger' : 'btn btn-primary';
    ok.textContent = confirmText || (confirm ? 'Confirm' : 'OK');
    actions.append(ok);
    let cancel = null;
    if (confirm) {
      cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'btn';
      cancel.textContent = cancelText || 'Cancel';
      actions.prepend(cancel);
    }
    dialog.append(heading, text, from, actions);
    let answered = false;
    const done = (value) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    ok.addEventListener('click', () => done(true));
    if (cancel) cancel.addEventListener('click', () => done(false));
    dialog.addEventListener('cancel', () => done(false));
    document.body.appendChild(dialog);
    dialog.showModal();
    ok.focus();
  });
}
