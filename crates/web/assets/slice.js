// A slice's progress, live: listens to the server's events for the slice and updates its state
// and progress bar; when it ends, reloads the page (which then offers the G-code, or says why it
// failed). Without this script the page has a link to refresh it.
(function () {
  'use strict';
  var box = document.querySelector('[data-slice-events]');
  if (!box || !window.EventSource) { return; }
  var labels = {
    queued: 'Waiting for the slicer',
    slicing: 'Slicing',
    done: 'Done',
    failed: 'Failed',
    cancelled: 'Cancelled'
  };
  var stateText = box.querySelector('[data-field="state"]');
  var bar = box.querySelector('progress');
  var percentText = box.querySelector('[data-field="percent"]');
  var source = new EventSource(box.getAttribute('data-slice-events'));
  source.addEventListener('slice', function (event) {
    var slice;
    try { slice = JSON.parse(event.data); } catch (e) { return; }
    var percent = Math.max(0, Math.min(100, slice.progress || 0));
    if (stateText) { stateText.textContent = labels[slice.state] || slice.state; }
    if (bar) { bar.value = percent; bar.textContent = percent + '%'; }
    if (percentText) { percentText.textContent = percent + '%'; }
    if (slice.state === 'done' || slice.state === 'failed' || slice.state === 'cancelled') {
      source.close();
      window.location.reload();
    }
  });
  source.addEventListener('error', function () {
    // The stream ended (a time limit, a restart): the page's refresh link still works; try
    // again in a moment as EventSource does by itself.
  });
})();
