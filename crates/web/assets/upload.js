// Upload progress on forms that send a file: sends the form with XMLHttpRequest so the page can
// show how much of the file has gone, then goes where the server sent it, or shows the form it
// answered with the refusal next to what caused it: that page's main content replaces this
// one's (parsed, never written into the document) and focus moves to the refusal, so screen
// readers read it first. Without this script the form posts as usual.
(function () {
  'use strict';
  if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) { return; }

  // Puts the answered page's main content in place of this one's; false when it has none.
  function showAnswer(html) {
    var answered = new DOMParser().parseFromString(html, 'text/html');
    var fresh = answered.querySelector('main');
    var main = document.querySelector('main');
    if (!fresh || !main) { return false; }
    while (main.firstChild) { main.removeChild(main.firstChild); }
    Array.prototype.forEach.call(fresh.childNodes, function (node) {
      main.appendChild(document.importNode(node, true));
    });
    if (answered.title) { document.title = answered.title; }
    // The refusal first (the error summary), else the page's heading.
    var summary = main.querySelector('.problem, [role="alert"]') || main.querySelector('h1');
    if (summary) {
      if (!summary.hasAttribute('tabindex')) { summary.setAttribute('tabindex', '-1'); }
      summary.focus();
    }
    // The form shown again sends with progress too.
    enhance(main.querySelector('form[data-upload-form]'));
    return true;
  }

  function enhance(form) {
    if (!form) { return; }
    var input = form.querySelector('input[type="file"]');
    var box = form.querySelector('[data-upload-progress]');
    if (!input || !box) { return; }
    var bar = box.querySelector('progress');
    var percentText = box.querySelector('[data-upload-percent]');
    var sending = false;
    // The form's address from its attribute: `form.action` would be the buttons named "action".
    var target = new URL(form.getAttribute('action'), document.baseURI).href;

    function failed(message) {
      sending = false;
      percentText.textContent = message;
      Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = false; });
    }

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
        // The form again, with what went wrong next to its field (or the error page).
        if (!showAnswer(request.responseText)) {
          failed('The server did not accept the upload (' + request.status + '); send it again.');
        }
      });
      request.addEventListener('error', function () {
        failed('The upload broke off; check the connection and send it again.');
      });
      request.send(data);
    });
  }

  enhance(document.querySelector('form[data-upload-form]'));
})();
