// MaravIA playground: chat with a bot configuration through /api/agent/chat/stream (or, with
// "Asíncrono (webhook)", /api/agent/chat with Prefer: respond-async and its delivery polled).
"use strict";

(() => {
  const CONFIG_KEY = "maravia.playground.config.v1";
  const SESSION_KEY = "maravia.playground.session";
  const API_KEY = "maravia.playground.apiKey";
  const FIELDS = [
    "nombre_bot", "id_empresa", "modalidad", "rol_bot", "tipo_bot", "objetivo_principal",
    "personalidad", "frase_saludo", "frase_des", "frase_no_sabe", "temas_esc", "frase_esc",
  ];
  const V02_ONLY = ["rol_bot", "tipo_bot", "objetivo_principal"];
  const IMAGE = /\.(png|jpe?g|gif|webp|avif|svg|bmp)$/i;
  const $ = (id) => document.getElementById(id);
  const state = { setup: { chat_key_required: false, admin_key_required: false }, demo: {} };

  // -- small helpers --------------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function notice(text, isError) {
    const box = $("notice");
    box.textContent = text;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = !text;
  }

  function apiKey() {
    return sessionStorage.getItem(API_KEY) || "";
  }

  function headers(json) {
    const result = json ? { "Content-Type": "application/json" } : {};
    if (apiKey()) result["X-API-Key"] = apiKey();
    return result;
  }

  async function detailOf(response) {
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string") return body.detail;
    } catch (_) {
      // not JSON: fall through to the status line
    }
    return `El servicio respondió ${response.status}.`;
  }

  function newSessionId() {
    const digits = new Uint32Array(2);
    crypto.getRandomValues(digits);
    return "519" + String(digits[0] % 100000000).padStart(8, "0");
  }

  function sessionId() {
    return $("session-id").value.trim();
  }

  // -- API keys --------------------------------------------------------------------------------
  function showKeyPanel(reason) {
    $("key-reason").textContent = reason;
    $("key-panel").hidden = false;
    $("api-key").value = apiKey();
    $("api-key").focus();
  }

  function explainRefusal(status, detail, prompt = true) {
    if (status === 401) {
      const text = apiKey()
        ? "La clave de API no es válida (401). Escribe otra clave."
        : "Este servicio pide una clave de API (401). Escríbela para continuar.";
      if (prompt) showKeyPanel(text);
      return `${text} Detalle: ${detail}`;
    }
    if (status === 403) {
      return "Esta clave no es de administración (403): la memoria guardada y «Borrar memoria» " +
        "necesitan una clave de ADMIN_API_KEYS.";
    }
    return `Error ${status}: ${detail}`;
  }

  // -- configuration form ------------------------------------------------------------------------
  function fieldInput(name) {
    return document.querySelector(`[data-field="${name}"]`);
  }

  function fillForm(saved) {
    const config = saved.config || {};
    const extra = {};
    for (const [key, value] of Object.entries(config)) {
      if (FIELDS.includes(key)) fieldInput(key).value = value === null ? "" : String(value);
      else extra[key] = value;
    }
    for (const name of FIELDS) if (!(name in config)) fieldInput(name).value = "";
    $("extra").value = Object.keys(extra).length ? JSON.stringify(extra, null, 2) : "";
    $("generation").value = saved.generation === "n8n" ? "n8n" : "v02";
    applyGeneration();
  }

  function applyGeneration() {
    const generation = $("generation").value;
    document.body.classList.toggle("gen-n8n", generation === "n8n");
    document.body.classList.toggle("gen-v02", generation !== "n8n");
  }

  function readExtra() {
    const text = $("extra").value.trim();
    const error = $("extra-error");
    error.hidden = true;
    if (!text) return {};
    let value;
    try {
      value = JSON.parse(text);
    } catch (_) {
      value = null;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      error.textContent = "«Otras claves» debe ser un objeto JSON, por ejemplo {\"slots\": 2}.";
      error.hidden = false;
      return null;
    }
    return value;
  }

  function formConfig() {
    const config = {};
    for (const name of FIELDS) {
      const value = fieldInput(name).value.trim();
      if (value) config[name] = name === "id_empresa" && /^\d+$/.test(value) ? Number(value) : value;
    }
    return config;
  }

  function saveForm() {
    const extra = readExtra();
    if (extra === null) return;
    const saved = { generation: $("generation").value, config: { ...extra, ...formConfig() } };
    localStorage.setItem(CONFIG_KEY, JSON.stringify(saved));
  }

  function requestBody(message) {
    const extra = readExtra();
    if (extra === null) return null;
    const config = { ...extra, ...formConfig() };
    const id = sessionId();
    if ($("generation").value !== "n8n") return { message, session_id: id, config };
    const body = { message, session_id: /^[1-9]\d{0,15}$/.test(id) ? Number(id) : id };
    body.id_empresa = config.id_empresa;
    const companyKey = $("company-key").value.trim();
    if (companyKey) body.api_key = companyKey;
    delete config.id_empresa;
    for (const name of V02_ONLY) delete config[name];
    body.config = config;
    return body;
  }

  // -- chat pane ---------------------------------------------------------------------------------
  function scrollDown() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  function addUserMessage(text) {
    const item = el("li", "msg user");
    item.append(el("div", "bubble", text));
    $("messages").append(item);
    scrollDown();
    return item;
  }

  // DOUBLE_TEXTING=merge: a message answered "merged" joined a later message's burst. Its user
  // bubble is kept, marked as part of the burst; the reply of the request that answers the burst
  // says how many messages it answers, and every message of the burst names it.
  function markMerged(userItem, view, done) {
    view.item.remove();
    userItem.classList.add("merged");
    userItem.dataset.mergedInto = done.merged_into;
    userItem.append(el("div", "meta merged-note", "unido a la ráfaga · se responde con el siguiente mensaje"));
  }

  function burstOf(requestId) {
    const ids = new Set([requestId]);
    const members = [];
    let grew = true;
    while (grew) {
      grew = false;
      for (const item of document.querySelectorAll("#messages .msg.user.merged")) {
        if (ids.has(item.dataset.mergedInto) && !ids.has(item.dataset.requestId)) {
          ids.add(item.dataset.requestId);
          members.push(item);
          grew = true;
        }
      }
    }
    return members;
  }

  function addBotMessage() {
    const item = el("li", "msg bot");
    const status = el("div", "status", "Enviando…");
    const bubble = el("div", "bubble", "");
    item.append(status, bubble);
    $("messages").append(item);
    scrollDown();
    return { item, status, bubble };
  }

  // A url's last part for display: decoded when it is valid percent-encoding, else as it is
  // (decodeURIComponent throws URIError on "%E0%A4%A" and the like).
  function decodedOrRaw(part) {
    try {
      return decodeURIComponent(part);
    } catch (_) {
      return part;
    }
  }

  function attachment(url) {
    let parsed;
    try {
      parsed = new URL(url, window.location.href);
    } catch (_) {
      return null;
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
    const box = el("div", "attachment");
    const link = el("a");
    link.href = parsed.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (IMAGE.test(parsed.pathname)) {
      const image = el("img");
      image.src = parsed.href;
      image.alt = "Imagen adjunta por el agente";
      link.append(image);
    } else {
      const name = decodedOrRaw(parsed.pathname.split("/").pop() || parsed.host);
      link.textContent = `Adjunto: ${name}`;
    }
    box.append(link);
    return box;
  }

  function metaLine(done, seconds, requestId) {
    const meta = el("div", "meta");
    const action = el("span", `action ${done.action}`, done.action);
    meta.dataset.action = done.action;
    meta.dataset.agent = done.agent_used || "";
    meta.append(action);
    const who = done.agent_used ? ` → ${done.agent_used}` : " · orquestador";
    meta.append(document.createTextNode(`${who} · ${seconds.toFixed(2)} s`));
    if (requestId) meta.append(document.createTextNode(` · id ${requestId}`));
    return meta;
  }

  function failed(view, text) {
    view.item.classList.add("error");
    view.status.textContent = "Error";
    view.bubble.textContent = text;
  }

  // Server-Sent Events from a fetch body (EventSource cannot POST or send headers).
  async function* sseEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = done ? "" : blocks.pop();
      for (const block of blocks) {
        let name = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { name, data: JSON.parse(data.join("\n")) };
      }
      if (done) return;
    }
  }

  // -- asynchronous turns: 202, then the outbox row polled until delivered or failed ------------
  const ASYNC_POLL_MS = 400;
  const ASYNC_WAIT_MS = 180000;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function deliveryText(row) {
    const attempts = `${row.attempts} intento${row.attempts === 1 ? "" : "s"}`;
    const status = row.last_status ? ` · HTTP ${row.last_status}` : "";
    const error = row.last_error && row.state !== "delivered" ? ` · ${row.last_error}` : "";
    const label = {
      accepted: "turno en curso",
      ready: "esperando la entrega",
      delivered: "entregado",
      failed: "entrega fallida",
    }[row.state] || row.state;
    return `webhook: ${label} · ${attempts}${status}${error} · delivery ${row.delivery_id}`;
  }

  async function sendAsync(body, view, started) {
    const response = await fetch("/api/agent/chat", {
      method: "POST",
      headers: { ...headers(true), Prefer: "respond-async" },
      body: JSON.stringify(body),
    });
    const requestId = response.headers.get("X-Request-ID");
    if (response.status !== 202) {
      failed(view, explainRefusal(response.status, await detailOf(response)));
      return;
    }
    const accepted = await response.json();
    view.status.textContent = "Aceptado (202) · esperando la respuesta por webhook…";
    const line = el("div", "delivery", "webhook: turno en curso");
    view.item.append(line);
    const path = `/webhooks/deliveries?request_id=${encodeURIComponent(accepted.request_id)}`;
    const deadline = performance.now() + ASYNC_WAIT_MS;
    while (performance.now() < deadline) {
      await sleep(ASYNC_POLL_MS);
      const poll = await fetch(path, { headers: headers() });
      if (!poll.ok) {
        line.remove();
        failed(view, explainRefusal(poll.status, await detailOf(poll), false));
        return;
      }
      const row = (await poll.json()).deliveries[0];
      if (!row) continue;
      line.textContent = deliveryText(row);
      line.dataset.state = row.state;
      if (row.state !== "delivered" && row.state !== "failed") continue;
      const event = row.body || {};
      if (event.event === "reply") {
        view.status.remove();
        view.bubble.textContent = event.reply;
        const extra = event.url ? attachment(event.url) : null;
        if (extra) view.item.insertBefore(extra, line);
        const seconds = (performance.now() - started) / 1000;
        view.item.insertBefore(metaLine(event, seconds, requestId), line);
      } else {
        failed(view, `${event.detail} (${event.status})`);
      }
      return;
    }
    failed(view, "La respuesta no llegó al webhook a tiempo; revisa GET /webhooks/failed.");
  }

  async function send() {
    const input = $("message");
    const message = input.value;
    if (!message.trim()) return;
    if (!sessionId()) $("session-id").value = newSessionId();
    localStorage.setItem(SESSION_KEY, sessionId());
    const body = requestBody(message);
    if (body === null) {
      notice("Corrige «Otras claves de config» antes de enviar.", true);
      return;
    }
    saveForm();
    input.value = "";
    $("send").disabled = true;
    const userItem = addUserMessage(message);
    const view = addBotMessage();
    const started = performance.now();
    try {
      if ($("async-mode").checked) {
        await sendAsync(body, view, started);
        return;
      }
      const response = await fetch("/api/agent/chat/stream", {
        method: "POST",
        headers: headers(true),
        body: JSON.stringify(body),
      });
      const requestId = response.headers.get("X-Request-ID");
      if (requestId) userItem.dataset.requestId = requestId;
      if (!response.ok) {
        failed(view, explainRefusal(response.status, await detailOf(response)));
        return;
      }
      let finished = false;
      view.status.textContent = "Enrutando…";
      for await (const event of sseEvents(response)) {
        if (event.name === "delegating") {
          view.status.textContent = `Delegando a ${event.data.agent}…`;
        } else if (event.name === "token") {
          view.status.textContent = "Respondiendo…";
          view.bubble.textContent += event.data.text;
          scrollDown();
        } else if (event.name === "done" && event.data.action === "merged") {
          finished = true;
          markMerged(userItem, view, event.data);
        } else if (event.name === "done") {
          finished = true;
          view.status.remove();
          view.bubble.textContent = event.data.reply;
          const extra = event.data.url ? attachment(event.data.url) : null;
          if (extra) view.item.append(extra);
          const meta = metaLine(event.data, (performance.now() - started) / 1000, requestId);
          const members = requestId ? burstOf(requestId) : [];
          if (members.length) {
            meta.dataset.burst = String(members.length + 1);
            meta.append(document.createTextNode(` · ráfaga de ${members.length + 1} mensajes`));
            for (const item of [...members, userItem]) item.dataset.burstOf = requestId;
          }
          view.item.append(meta);
        } else if (event.name === "error") {
          finished = true;
          failed(view, `${event.data.detail} (${event.data.status})`);
        }
      }
      if (!finished) failed(view, "La conexión se cortó antes de terminar la respuesta.");
    } catch (_) {
      failed(view, "No se pudo conectar con el servicio. ¿Está en marcha?");
    } finally {
      $("send").disabled = false;
      scrollDown();
      input.focus();
      loadStored();
    }
  }

  // -- stored conversation (admin endpoints) -------------------------------------------------------
  // A conversation is (company, session id): the admin endpoints are asked for the form's company.
  function conversationPath(kind, id) {
    const company = fieldInput("id_empresa").value.trim();
    const query = /^\d+$/.test(company) ? `?id_empresa=${company}` : "";
    return `/memory/${kind}/${encodeURIComponent(id)}${query}`;
  }

  async function loadStored() {
    const id = sessionId();
    const summary = $("stored-summary");
    const list = $("stored-messages");
    list.replaceChildren();
    if (!id) {
      summary.textContent = "Sin sesión.";
      return;
    }
    let response;
    try {
      response = await fetch(conversationPath("sessions", id), { headers: headers() });
    } catch (_) {
      summary.textContent = "No se pudo leer la memoria guardada.";
      return;
    }
    if (response.status === 404) {
      summary.textContent = "Sin conversación guardada para esta sesión.";
      return;
    }
    if (!response.ok) {
      const detail = await detailOf(response);
      summary.textContent = response.status === 401 || response.status === 403
        ? explainRefusal(response.status, detail, false)
        : `Error ${response.status}: ${detail}`;
      return;
    }
    const stored = await response.json();
    const agent = stored.active_agent ? `agente activo: ${stored.active_agent}` : "sin agente activo";
    const turns = stored.turns === 1 ? "1 turno guardado" : `${stored.turns} turnos guardados`;
    summary.textContent = `${turns} (${stored.total_turns} en total) · ${agent}`;
    for (const message of stored.messages) {
      const item = el("li", message.role);
      const who = message.role === "user" ? "Cliente" : `Bot (${message.agent || "orquestador"})`;
      item.append(el("span", "who", who), document.createTextNode(message.content));
      list.append(item);
    }
  }

  async function clearStored() {
    const id = sessionId();
    if (!id) return;
    let response;
    try {
      response = await fetch(conversationPath("clear", id), {
        method: "POST",
        headers: headers(),
      });
    } catch (_) {
      notice("No se pudo conectar con el servicio.", true);
      return;
    }
    if (!response.ok) {
      notice(explainRefusal(response.status, await detailOf(response)), true);
      return;
    }
    const body = await response.json();
    $("messages").replaceChildren();
    notice(body.message, false);
    loadStored();
  }

  function startNewConversation() {
    $("session-id").value = newSessionId();
    localStorage.setItem(SESSION_KEY, sessionId());
    $("messages").replaceChildren();
    notice("");
    loadStored();
    $("message").focus();
  }

  // -- start-up --------------------------------------------------------------------------------
  async function fetchJson(path, fallback) {
    try {
      const response = await fetch(path);
      return response.ok ? await response.json() : fallback;
    } catch (_) {
      return fallback;
    }
  }

  function bind() {
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    $("message").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
    $("config-form").addEventListener("input", saveForm);
    $("generation").addEventListener("change", () => {
      applyGeneration();
      saveForm();
    });
    $("reset-config").addEventListener("click", () => {
      fillForm({ generation: "v02", config: state.demo });
      saveForm();
      notice("Configuración de demostración restaurada.");
    });
    $("session-id").addEventListener("change", () => {
      localStorage.setItem(SESSION_KEY, sessionId());
      $("messages").replaceChildren();
      loadStored();
    });
    $("new-session").addEventListener("click", startNewConversation);
    $("clear-session").addEventListener("click", clearStored);
    $("refresh-stored").addEventListener("click", loadStored);
    $("key-button").addEventListener("click", () => showKeyPanel("Escribe la clave de API."));
    $("key-cancel").addEventListener("click", () => {
      $("key-panel").hidden = true;
    });
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("api-key").value.trim();
      if (key) sessionStorage.setItem(API_KEY, key);
      else sessionStorage.removeItem(API_KEY);
      $("key-panel").hidden = true;
      notice(key ? "Clave guardada para esta pestaña." : "Clave borrada.");
      loadStored();
      $("message").focus();
    });
  }

  async function start() {
    bind();
    const [setup, demo] = await Promise.all([
      fetchJson("/playground/setup.json", state.setup),
      fetchJson("/playground/demo-config.json", {}),
    ]);
    state.setup = setup;
    state.demo = demo;
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(CONFIG_KEY) || "null");
    } catch (_) {
      saved = null;
    }
    fillForm(saved && saved.config ? saved : { generation: "v02", config: demo });
    $("session-id").value = localStorage.getItem(SESSION_KEY) || newSessionId();
    localStorage.setItem(SESSION_KEY, sessionId());
    if ((setup.chat_key_required || setup.admin_key_required) && !apiKey()) {
      showKeyPanel("Este servicio tiene claves de API activadas: escribe tu clave para usarlo " +
        "(una clave de administración también permite ver y borrar la memoria).");
    }
    await loadStored();
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
