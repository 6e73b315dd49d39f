// Session page: metronome (Web Audio clicks), camera preview refresh, and a reload while
// takes are processed. Served from 'self' to satisfy the page's Content-Security-Policy.
(function () {
  "use strict";
  var audio = null, timer = null;
  function click(when, accent) {
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = accent ? 1320 : 880;
    gain.gain.setValueAtTime(0.6, when);
    gain.gain.exponentialRampToValueAtTime(0.001, when + 0.05);
    osc.connect(gain).connect(audio.destination);
    osc.start(when);
    osc.stop(when + 0.06);
  }
  document.querySelectorAll("button.metronome").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; button.textContent = label; return; }
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var period = 60 / parseFloat(button.dataset.bpm), next = audio.currentTime + 0.1, beat = 0;
      timer = setInterval(function () {
        while (next < audio.currentTime + 0.2) { click(next, beat % 4 === 0); next += period; beat++; }
      }, 50);
      button.textContent = "Stop metronome";
    });
  });
  document.querySelectorAll("img.preview[data-refresh]").forEach(function (img) {
    var base = img.src;
    setInterval(function () { img.src = base + "?t=" + Date.now(); }, 250);
  });
  if (document.querySelector(".busy")) { setTimeout(function () { location.reload(); }, 3000); }
})();
