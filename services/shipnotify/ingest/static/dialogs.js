// The questions a tap may ask, as bottom sheets (<dialog>): why a delivery attempt failed
// (one of the six reasons), and who received a delivered parcel (a name, required here).
// Each resolves with the answer, or null when the courier cancels.

function ask(dialog, read) {
  const form = dialog.querySelector("form");
  const error = dialog.querySelector(".sheet-error");
  form.reset();
  if (error) error.hidden = true;
  return new Promise((resolve) => {
    const finish = (answer) => {
      form.onsubmit = null;
      form.oninput = null;
      dialog.onclose = null;
      dialog.onclick = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    form.onsubmit = (event) => {
      event.preventDefault(); // answered here: a form's own submission is never made
      const answer = read(form);
      if (answer) finish(answer);
      else if (error) error.hidden = false;
    };
    dialog.onclick = (event) => {
      if (event.target.closest("[data-action=cancel]")) finish(null);
    };
    dialog.onclose = () => finish(null); // Escape, the back gesture
    form.oninput = () => {
      if (error) error.hidden = true; // an answer is being given
    };
    dialog.showModal();
  });
}

export function failureReason() {
  return ask(document.getElementById("failure-dialog"), (form) => form.elements.failure.value || null);
}

export function receivedBy() {
  return ask(document.getElementById("received-dialog"), (form) => {
    const name = form.elements.received_by.value.trim();
    return name || null;
  });
}

// The scan sheet: open while `scanning` runs; cancelling aborts it.
export async function scanning(run) {
  const dialog = document.getElementById("scan-dialog");
  const abort = new AbortController();
  dialog.onclick = (event) => {
    if (event.target.closest("[data-action=cancel]")) dialog.close();
  };
  dialog.onclose = () => abort.abort();
  dialog.showModal();
  try {
    return await run(document.getElementById("scan-video"), abort.signal);
  } finally {
    dialog.onclose = null;
    if (dialog.open) dialog.close();
  }
}
