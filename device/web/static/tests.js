// Hand tests page: live force bars while a test runs, then a reload to show its result.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var bars = live.querySelectorAll(".bar .fill"), light = live.querySelector(".go-light");
  var target = live.querySelector(".target"), progress = live.querySelector("progress");
  var scale = 20; // newtons at the top of the bars; grows with the largest force seen
  function poll() {
    fetch(live.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (s) {
        if (!s.running) { location.reload(); return; }
        var newtons = s.newtons || [];
        newtons.forEach(function (f) { scale = Math.max(scale, f * 1.2); });
        bars.forEach(function (bar, i) {
          bar.style.height = Math.max(0, Math.min(100, 100 * (newtons[i] || 0) / scale)) + "%";
        });
        if (target) {
          target.style.bottom = (100 * parseFloat(target.dataset.target) / scale) + "%";
        }
        light.textContent = s.go ? "Go!" : "Wait: fingers resting";
        light.dataset.go = s.go ? "yes" : "no";
        progress.value = s.elapsed_s;
        setTimeout(poll, 100);
      })
      .catch(function () { setTimeout(poll, 500); });
  }
  poll();
})();
