"""The page's inline style and script (constant: the script's hash goes in the page's CSP, so no
other script, injected or not, can run)."""

from __future__ import annotations

import base64
import hashlib

STYLE = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--accent:#2456d6;--hi:#fff4c2;--bad:#b42318;--ok:#1a7f37}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f6f7f9}
header{background:#fff;border-bottom:1px solid var(--line);padding:16px 24px}
h1{margin:0 0 4px;font-size:22px;overflow-wrap:anywhere}
h2{font-size:16px;margin:0 0 8px}
.meta{color:var(--muted);font-size:14px}
.meta span+span::before{content:" · "}
main{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin-bottom:16px}
video,audio{width:100%;background:#000;border-radius:6px;max-height:52vh}
.none{color:var(--muted);font-style:italic}
#timeline{position:relative;height:22px;background:#eef0f4;border-radius:4px;overflow:hidden;margin:6px 0}
#timeline .seg{position:absolute;top:0;bottom:0;border:0;padding:0;cursor:pointer;min-width:2px}
#timeline .cursor{position:absolute;top:0;bottom:0;width:2px;background:#000;left:0}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:13px;color:var(--muted);padding:0;margin:0;list-style:none;overflow-wrap:anywhere}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
#transcript{list-style:none;margin:0;padding:0;max-height:60vh;overflow:auto}
#transcript li{padding:6px 8px;border-radius:6px;cursor:pointer;display:grid;grid-template-columns:64px minmax(0,1fr);gap:8px}
#transcript li:hover{background:#f0f3fa}
#transcript li.current{background:var(--hi)}
.time{font-variant-numeric:tabular-nums;color:var(--accent);font-size:13px}
.who{font-weight:600;margin-right:6px;overflow-wrap:anywhere}
.text{overflow-wrap:anywhere}
#chat{list-style:none;margin:0;padding:0}
#chat li{padding:4px 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
#people{margin:0;padding-left:18px;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{text-align:left;padding:4px 6px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
.archived{color:var(--ok)}.failed{color:var(--bad);font-weight:600}
#summary h3,#summary h4{margin:10px 0 4px;font-size:15px}
@media (max-width:900px){main{grid-template-columns:1fr}}
""".strip()

SCRIPT = """
(function(){
  "use strict";
  var player = document.getElementById("player");
  // Deployed archives pass presigned media URLs in the fragment (never sent to a server):
  // #media=<URI-encoded JSON {"relative/path": "https://..."}>. Only http(s) URLs are taken.
  var match = /(?:^#|&)media=([^&]*)/.exec(location.hash);
  if (match) {
    try {
      var urls = JSON.parse(decodeURIComponent(match[1]));
      document.querySelectorAll("[data-rel]").forEach(function(el){
        var url = urls[el.getAttribute("data-rel")];
        if (typeof url !== "string") return;
        var scheme = new URL(url, location.href).protocol;
        if (scheme !== "https:" && scheme !== "http:") return;
        el.setAttribute(el.tagName === "A" ? "href" : "src", url);
      });
      if (player) player.load();
    } catch (e) { /* a malformed fragment leaves the relative paths */ }
  }
  var lines = Array.prototype.slice.call(document.querySelectorAll("#transcript li[data-start]"));
  var starts = lines.map(function(li){ return parseFloat(li.getAttribute("data-start")); });
  function seek(seconds){
    if (!player || isNaN(seconds)) return;
    player.currentTime = Math.max(0, seconds);
    highlight(player.currentTime);
  }
  document.addEventListener("click", function(event){
    var target = event.target.closest ? event.target.closest("[data-start]") : null;
    if (target) seek(parseFloat(target.getAttribute("data-start")));
  });
  var current = -1;
  function highlight(t){
    var found = -1;
    for (var i = 0; i < starts.length && starts[i] <= t + 0.05; i++) found = i;
    if (found === current) return;
    if (current >= 0) { lines[current].classList.remove("current"); lines[current].removeAttribute("aria-current"); }
    current = found;
    if (found >= 0) {
      lines[found].classList.add("current");
      lines[found].setAttribute("aria-current", "true");
      if (player && !player.paused) lines[found].scrollIntoView({block: "nearest"});
    }
  }
  var cursor = document.querySelector("#timeline .cursor");
  var total = parseFloat((document.getElementById("timeline") || {dataset: {}}).dataset.total || "0");
  if (player) {
    player.addEventListener("timeupdate", function(){
      highlight(player.currentTime);
      if (cursor && total > 0) cursor.style.left = Math.min(100, 100 * player.currentTime / total) + "%";
    });
  }
})();
""".strip()

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "style-src 'unsafe-inline'; "
    f"script-src '{SCRIPT_HASH}'; "
    "media-src 'self' https: http: file: blob:; "
    "img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'"
)
