// livereload.js of mybb-sync (served by `mybb-sync watch --live-reload`): LiveReload protocol 7.
// Connects back to the server that served this file, reconnects with backoff after the watcher
// restarts, swaps the matching <link rel="stylesheet"> in place for a stylesheet save, and reloads
// the page for anything else. Plain JavaScript with no build step, embedded in the binary.
(function () {
  "use strict";
  if (window.__mybbSyncLiveReload) return; // included twice: one connection is enough
  // `connected`: the server answered our hello (for a look in the console, and for tests).
  var state = window.__mybbSyncLiveReload = { connected: false };

  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src) : null;
  var host = origin ? origin.host : location.hostname + ":35729";
  var url = (origin && origin.protocol === "https:" ? "wss://" : "ws://") + host + "/livereload";
  var delay = 500; // first retry after a lost connection, doubled up to 30 s

  function connect() {
    var socket = new WebSocket(url);
    socket.onopen = function () {
      delay = 500;
      socket.send(JSON.stringify({
        command: "hello",
        protocols: ["http://livereload.com/protocols/official-7"]
      }));
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.command === "hello") state.connected = true;
      if (message.command !== "reload") return;
      if (message.liveCSS && /\.css$/i.test(message.path || "")) {
        swapStylesheets(message.path);
      } else {
        location.reload();
      }
    };
    socket.onclose = function () {
      state.connected = false;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  // Replaces each stylesheet link whose URL path ends with `path` by a copy with a fresh
  // `livereload` query parameter; the old link goes once the new one has loaded, so the page
  // never shows unstyled.
  function swapStylesheets(path) {
    var suffix = "/" + path.replace(/^\/+/, "");
    var links = document.querySelectorAll('link[rel~="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      var link = links[i];
      if (link.__mybbSyncReplaced) continue;
      var href = new URL(link.href, location.href), pathname;
      try { pathname = decodeURI(href.pathname); } catch (e) { pathname = href.pathname; }
      if (!("/" + pathname.replace(/^\/+/, "")).endsWith(suffix)) continue;
      href.searchParams.set("livereload", String(Date.now()));
      var fresh = link.cloneNode(false);
      fresh.href = href.toString();
      link.__mybbSyncReplaced = true;
      fresh.onload = fresh.onerror = (function (old) {
        return function () { if (old.parentNode) old.parentNode.removeChild(old); };
      })(link);
      link.parentNode.insertBefore(fresh, link.nextSibling);
    }
  }

  connect();
})();
