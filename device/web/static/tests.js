// Hand tests page: live force bars, joint angles or TOJT progress while a test runs, answers
// given on the page, then a reload to show the result.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var test = live.dataset.test, progress = live.querySelector("progress");
  var bars = live.querySelectorAll(".bar .fill"), light = live.querySelector(".go-light");
  var target = live.querySelector(".target");
  var scale = 20; // newtons at the top of the bars; grows with the largest force seen
  function text(selector, value) {
    var node = live.querySelector(selector);
    if (node) { node.textContent = value; }
  }
  function showForce(s) {
    var newtons = s.newtons || [];
    newtons.forEach(function (f) { scale = Math.max(scale, f * 1.2); });
    bars.forEach(function (bar, i) {
      bar.style.height = Math.max(0, Math.min(100, 100 * (newtons[i] || 0) / scale)) + "%";
    });
    if (target) { target.style.bottom = (100 * parseFloat(target.dataset.target) / scale) + "%"; }
    light.textContent = s.go ? "Go!" : "Wait: fingers resting";
    light.dataset.go = s.go ? "yes" : "no";
  }
  function showAngles(s) {
    text(".prompt", s.prompt || "Keep still");
    text(".flexion", Math.round(s.angles_deg[0]));
    text(".abduction", Math.round(s.angles_deg[1]));
  }
  function showTrials(s) {
    text(".trial", s.trial);
    text(".threshold", s.threshold_ms === null ? "–" : Math.round(s.threshold_ms));
    text(".waiting", s.waiting_for_answer ? "Which finger was tapped first?" : "Tapping…");
  }
  var answer = document.getElementById("answer");
  if (answer) {
    answer.querySelectorAll("button[data-url]").forEach(function (button) {
      button.addEventListener("click", function () {
        fetch(button.dataset.url, { method: "POST", credentials: "same-origin",
                                    body: new FormData(answer) });
      });
    });
  }
  function poll() {
    fetch(live.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (s) {
        if (!s.running) { location.reload(); return; }
        if (test === "force") { showForce(s); } else if (test === "rom") { showAngles(s); }
        else { showTrials(s); }
        if (progress) { progress.value = s.elapsed_s; }
        setTimeout(poll, 100);
      })
      .catch(function () { setTimeout(poll, 500); });
  }
  poll();
})();
