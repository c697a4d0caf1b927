/* global document, navigator, window, Element */
// Mailhook dashboard: progressive enhancement only; every page works without it.
'use strict';

function copied(button, ok) {
  const label = button.textContent;
  button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
  button.setAttribute('data-state', ok ? 'ok' : 'fail');
  window.setTimeout(() => {
    button.textContent = label;
    button.removeAttribute('data-state');
  }, 1500);
}

function copy(button) {
  const text = button.getAttribute('data-copy') || '';
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => copied(button, true), () => copied(button, false));
    return;
  }
  // Plain-HTTP dashboards have no Clipboard API: select the value so the user can copy it.
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.className = 'offscreen';
  document.body.appendChild(field);
  field.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  field.remove();
  copied(button, ok);
}

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null;
  if (button) copy(button);
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof Element ? form.getAttribute('data-confirm') : null;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Loaded with defer: the document is parsed by now.
document.documentElement.classList.add('js');
for (const el of document.querySelectorAll('time[datetime]')) {
  const when = new Date(el.getAttribute('datetime') || '');
  if (!Number.isNaN(when.getTime())) {
    el.setAttribute('title', el.textContent || '');
    el.textContent = when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }
}
