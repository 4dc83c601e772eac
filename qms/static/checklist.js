// Saves checklist answers as they are given on the tablet page, so nothing typed is lost on a
// flaky connection. Progressive enhancement: without this script each item is a plain form.
//
// Every change is first written to localStorage (key qms-checklist:<audit>:<item>), then sent as
// JSON to the item's form action with the CSRF token in the X-CSRFToken header and the revision
// last seen (expected_revision). A failed send stays in localStorage and is retried when the
// browser comes back online, every few seconds, and on the next visit of the page.
(function () {
  "use strict";
  var root = document.getElementById("checklist");
  if (!root || !window.fetch || !window.JSON) {
    return;
  }
  var csrf = root.getAttribute("data-csrf");
  var prefix = "qms-checklist:" + root.getAttribute("data-audit") + ":";
  var DEBOUNCE_MS = 800;
  var RETRY_MS = 5000;
  var connection = document.getElementById("connection");
  var forms = Array.prototype.slice.call(root.querySelectorAll("form.answer-form"));
  var states = {};

  function load(id) {
    try {
      return JSON.parse(window.localStorage.getItem(prefix + id));
    } catch (e) {
      return null;
    }
  }
  function store(id, value) {
    try {
      window.localStorage.setItem(prefix + id, JSON.stringify(value));
    } catch (e) {
      /* storage full or disabled: the answer is still sent */
    }
  }
  function forget(id) {
    try {
      window.localStorage.removeItem(prefix + id);
    } catch (e) {
      /* nothing to do */
    }
  }

  function revisionInput(form) {
    return form.querySelector('input[name="expected_revision"]');
  }
  function answerOf(form) {
    var checked = form.querySelector('input[name="result"]:checked');
    return {
      result: checked ? checked.value : null,
      notes: form.querySelector('textarea[name="notes"]').value,
      expected_revision: parseInt(revisionInput(form).value, 10) || 0
    };
  }
  function sameAnswer(a, b) {
    return a && b && a.result === b.result && a.notes === b.notes;
  }
  function setStatus(form, text, kind) {
    var el = form.querySelector(".save-status");
    el.textContent = text;
    el.setAttribute("data-kind", kind || "");
  }
  function showErrors(form, errors) {
    var boxes = form.querySelectorAll(".field-error");
    for (var i = 0; i < boxes.length; i++) {
      var name = boxes[i].getAttribute("data-error-for");
      var message = errors && errors[name];
      boxes[i].textContent = message ? name.charAt(0).toUpperCase() + name.slice(1) + " " + message : "";
      boxes[i].hidden = !message;
    }
  }
  function showFinding(form, nc) {
    var el = form.querySelector(".nc-link");
    if (!nc || el.querySelector("a")) {
      return;
    }
    var link = document.createElement("a");
    link.href = nc.url;
    link.textContent = nc.reference;
    el.textContent = "Finding raised: ";
    el.appendChild(link);
  }
  function updateCount() {
    var counter = document.getElementById("answered-count");
    if (counter) {
      counter.textContent = String(root.querySelectorAll('input[name="result"]:checked').length);
    }
  }
  function showConnection(online) {
    if (!connection) {
      return;
    }
    connection.hidden = online;
    connection.textContent = online ? "" : "You are offline. Answers are kept on this device and sent when the connection returns.";
  }

  function remember(form) {
    var id = form.getAttribute("data-item");
    var answer = answerOf(form);
    store(id, answer);
    return answer;
  }

  function save(form) {
    var state = states[form.getAttribute("data-item")];
    window.clearTimeout(state.timer);
    state.timer = 0;
    remember(form);
    if (state.busy) {
      state.again = true;
      return;
    }
    send(form);
  }

  function offline(form, state) {
    state.waiting = true;
    setStatus(form, "Offline — will retry", "offline");
  }

  function send(form) {
    var id = form.getAttribute("data-item");
    var state = states[id];
    var answer = load(id);
    if (!answer) {
      return;
    }
    state.busy = true;
    state.again = false;
    state.waiting = false;
    setStatus(form, "Saving…", "saving");
    window.fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(answer)
    }).then(function (response) {
      return response.json().then(
        function (body) { return { status: response.status, body: body || {} }; },
        function () { return { status: response.status, body: {} }; }
      );
    }).then(function (reply) {
      state.busy = false;
      var body = reply.body;
      if (reply.status === 200 && body.ok) {
        revisionInput(form).value = body.item.revision;
        var latest = load(id);
        if (sameAnswer(latest, answer)) {
          forget(id);
        } else if (latest) {
          latest.expected_revision = body.item.revision;
          store(id, latest);
          state.again = true;
        }
        showErrors(form, {});
        showFinding(form, body.item.nonconformity);
        setStatus(form, state.again ? "Saving…" : "Saved ✓", state.again ? "saving" : "saved");
        updateCount();
      } else if (reply.status === 409 && body.conflict) {
        forget(id);
        setStatus(form, "Conflict — reload", "conflict");
      } else if (reply.status === 422) {
        forget(id);
        showErrors(form, body.errors || {});
        setStatus(form, "Not saved — " + (body.message || "check the answer"), "error");
      } else if (reply.status === 403 || reply.status === 404 || reply.status === 409) {
        forget(id);
        setStatus(form, "Not saved — " + (body.message || "refused"), "error");
      } else if (reply.status === 400 || (reply.status === 200 && !body.ok)) {
        // expired session or form token: keep the answer on this device for the next visit
        setStatus(form, "Not saved — reload the page (your answer is kept on this device)", "error");
        state.again = false;
      } else {
        offline(form, state);
        state.again = false;
      }
      if (state.again) {
        send(form);
      }
    }, function () {
      state.busy = false;
      state.again = false;
      offline(form, state);
    });
  }

  function retryAll() {
    forms.forEach(function (form) {
      var state = states[form.getAttribute("data-item")];
      if (state.waiting && !state.busy) {
        send(form);
      }
    });
  }

  forms.forEach(function (form) {
    var id = form.getAttribute("data-item");
    var state = { timer: 0, busy: false, again: false, waiting: false };
    states[id] = state;
    var kept = load(id);
    if (kept) {
      // an answer typed on an earlier visit that never reached the server
      var radio = form.querySelector('input[name="result"][value="' + kept.result + '"]');
      var boxes = form.querySelectorAll('input[name="result"]');
      for (var i = 0; i < boxes.length; i++) {
        boxes[i].checked = boxes[i] === radio;
      }
      form.querySelector('textarea[name="notes"]').value = kept.notes || "";
      state.waiting = true;
      setStatus(form, "Not yet saved — will retry", "offline");
    }
    form.addEventListener("change", function (event) {
      if (event.target.name === "result") {
        save(form);
      }
    });
    var notes = form.querySelector('textarea[name="notes"]');
    notes.addEventListener("input", function () {
      remember(form);
      setStatus(form, "Editing…", "editing");
      window.clearTimeout(state.timer);
      state.timer = window.setTimeout(function () { save(form); }, DEBOUNCE_MS);
    });
    notes.addEventListener("blur", function () {
      if (state.timer) {
        save(form);
        state.timer = 0;
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save(form);
    });
  });

  window.addEventListener("online", function () {
    showConnection(true);
    retryAll();
  });
  window.addEventListener("offline", function () {
    showConnection(false);
  });
  window.setInterval(retryAll, RETRY_MS);
  updateCount();
  retryAll();
})();
