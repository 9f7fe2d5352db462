// Live printer states on the dashboard: listens to the server's printer events and updates
// each printer's state, progress, time left and which of its actions show. The page works
// without it (reload to see changes); it only keeps the page current.
(function () {
  'use strict';
  var fleet = document.querySelector('[data-live-url]');
  if (!fleet || !window.EventSource) { return; }

  var labels = {
    offline: 'Offline',
    idle: 'Idle',
    printing: 'Printing',
    paused: 'Paused',
    awaiting_bed_clear: 'Waiting for the plate to be cleared',
    error: 'Error',
    maintenance: 'In maintenance'
  };

  // As the server formats durations: "45 s", "12 min", "2 h 5 min".
  function duration(seconds) {
    if (!isFinite(seconds) || seconds <= 0) { return '0 s'; }
    var total = Math.round(Math.min(seconds, 31536000));
    if (total < 60) { return total + ' s'; }
    if (total < 3600) { return Math.floor(total / 60) + ' min'; }
    var minutes = Math.floor((total % 3600) / 60);
    return Math.floor(total / 3600) + ' h' + (minutes ? ' ' + minutes + ' min' : '');
  }

  function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }

  function setText(card, name, text) {
    var element = field(card, name);
    if (element && element.textContent !== text) { element.textContent = text; }
  }

  // The picture of what the printer prints: its address names the print, so it is fetched
  // once per print; a file without a picture leaves none.
  function thumbnail(image, printId) {
    if (!image) { return; }
    if (printId == null) { image.hidden = true; image.removeAttribute('src'); return; }
    var src = image.getAttribute('data-base') + '?print=' + encodeURIComponent(String(printId));
    if (image.getAttribute('src') !== src) { image.hidden = false; image.setAttribute('src', src); }
  }
  var images = fleet.querySelectorAll('img[data-field="thumbnail"]');
  for (var n = 0; n < images.length; n++) {
    images[n].addEventListener('error', function (event) { event.target.hidden = true; });
    if (images[n].complete && images[n].getAttribute('src') && images[n].naturalWidth === 0) { images[n].hidden = true; }
  }

  function update(status) {
    var card = fleet.querySelector('[data-printer-id="' + String(status.printer_id) + '"]');
    if (!card) { return; }
    card.setAttribute('data-state', status.state);
    setText(card, 'state', labels[status.state] || status.state);
    setText(card, 'detail', status.detail || '');
    var job = status.job;
    var jobBox = field(card, 'job');
    if (jobBox) { jobBox.hidden = !job; }
    if (job) {
      var percent = Math.round(Math.max(0, Math.min(1, job.progress || 0)) * 100);
      var progress = field(card, 'progress');
      if (progress) { progress.value = percent; progress.textContent = percent + '%'; }
      setText(card, 'file', job.file_name);
      setText(card, 'percent', percent + '%');
      setText(card, 'remaining', job.remaining_s == null ? '' : duration(job.remaining_s) + ' left');
    }
    thumbnail(field(card, 'thumbnail'), job && job.print_id);
    var phases = [status.state];
    if (status.bed_clear_pending || status.state === 'awaiting_bed_clear') { phases.push('bed_clear'); }
    var forms = card.querySelectorAll('[data-when]');
    for (var i = 0; i < forms.length; i++) {
      var when = forms[i].getAttribute('data-when').split(' ');
      var show = phases.some(function (phase) { return when.indexOf(phase) >= 0; });
      forms[i].hidden = !show;
    }
  }

  var connection = field(fleet, 'connection');
  var source = new EventSource(fleet.getAttribute('data-live-url'));
  source.addEventListener('open', function () {
    fleet.setAttribute('data-live', 'connected');
    if (connection) { connection.textContent = 'Printer states update live.'; }
  });
  source.addEventListener('error', function () {
    // Closed: the server refused to reconnect (signed out, or a revoked display link).
    var closed = source.readyState === EventSource.CLOSED;
    fleet.setAttribute('data-live', closed ? 'stopped' : 'reconnecting');
    if (connection) {
      connection.textContent = closed ? 'Live updates stopped; reload the page.' : 'Reconnecting to live updates…';
    }
  });
  source.addEventListener('printer', function (event) {
    var status;
    try { status = JSON.parse(event.data); } catch (e) { return; }
    if (status && status.printer_id != null) { update(status); }
  });
})();
