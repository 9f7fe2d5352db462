// Upload progress on forms that send a file: sends the form with XMLHttpRequest so the page can
// show how much of the file has gone, then goes where the server sent it (or shows the page it
// answered, a refusal next to what caused it). Without this script the form posts as usual.
(function () {
  'use strict';
  var form = document.querySelector('form[data-upload-form]');
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var input = form.querySelector('input[type="file"]');
  var box = form.querySelector('[data-upload-progress]');
  if (!input || !box) { return; }
  var bar = box.querySelector('progress');
  var percentText = box.querySelector('[data-upload-percent]');
  var sending = false;
  // The form's address from its attribute: `form.action` would be the buttons named "action".
  var target = new URL(form.getAttribute('action'), document.baseURI).href;

  function show(percent) {
    bar.value = percent;
    bar.textContent = percent + '%';
    percentText.textContent = percent + '%';
  }

  form.addEventListener('submit', function (event) {
    if (!input.files || input.files.length === 0) { return; }
    event.preventDefault();
    if (sending) { return; }
    sending = true;
    var data = new FormData(form);
    var submitter = event.submitter;
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var buttons = form.querySelectorAll('button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    box.hidden = false;
    show(0);
    var request = new XMLHttpRequest();
    request.open('POST', target);
    request.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable && e.total > 0) {
        show(Math.min(100, Math.round(e.loaded / e.total * 100)));
      }
    });
    request.addEventListener('load', function () {
      show(100);
      var answeredAt = request.responseURL || target;
      if (answeredAt.split('#')[0] !== target.split('#')[0]) {
        // The server sent us on (to the estimate, or to the submitted job).
        window.location.assign(answeredAt);
        return;
      }
      // The form again, with what went wrong next to its field.
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener('error', function () {
      sending = false;
      percentText.textContent = 'The upload broke off; check the connection and send it again.';
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    });
    request.send(data);
  });
})();
