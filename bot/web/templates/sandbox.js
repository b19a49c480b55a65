// The sandbox chat: post what the "patient" types, poll the contact log every second.
// Text is only ever set with textContent, never parsed as HTML.
"use strict";
(() => {
  const select = document.getElementById("patient");
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  let address = select.value;
  let after = 0;
  let busy = false;

  function render(message) {
    const item = document.createElement("div");
    item.className = "msg " + (message.direction === "in" ? "in" : "out");
    const body = document.createElement("p");
    body.textContent = String(message.body ?? "");
    const at = document.createElement("time");
    at.textContent = message.at ? new Date(message.at).toLocaleTimeString() : "";
    item.append(body, at);
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  async function poll() {
    if (busy || !address) return;
    busy = true;
    const asked = address;
    try {
      const query = new URLSearchParams({ address: asked, after: String(after) });
      const response = await fetch("sandbox/messages?" + query.toString());
      if (!response.ok) throw new Error(String(response.status));
      const messages = await response.json();
      if (asked !== address) return;
      for (const message of messages) {
        render(message);
        after = Math.max(after, Number(message.id) || 0);
      }
      status.textContent = "";
    } catch (error) {
      status.textContent = "Server not reachable, retrying…";
    } finally {
      busy = false;
    }
  }

  select.addEventListener("change", () => {
    address = select.value;
    after = 0;
    log.replaceChildren();
    poll();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !address) return;
    input.value = "";
    try {
      const response = await fetch("sandbox/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ address, text }),
      });
      status.textContent = response.ok ? "" : "Not sent (" + response.status + ")";
    } catch (error) {
      status.textContent = "Not sent: server not reachable";
    }
    poll();
  });

  setInterval(poll, 1000);
  poll();
})();
