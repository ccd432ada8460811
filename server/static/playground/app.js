// MaravIA operator console (the playground grown): chat with a bot configuration through
// /api/agent/chat/stream (or, with "Asíncrono (webhook)", /api/agent/chat with Prefer:
// respond-async and its delivery polled); the stored conversations (GET /sessions), each turn's
// routing and outcome (/memory/sessions), the agents' states (/ready), human handoff and export.
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
  const PERSON = "humano:";
  const state = {
    setup: { chat_key_required: false, admin_key_required: false, double_texting: "enqueue" },
    demo: {},
    busy: false,
    inFlight: 0,
    mode: "bot",
    live: {},
  };

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
    if (config.id_empresa === undefined) {
      // the service would name config.id_empresa: in this format the company goes on top
      notice("En el formato n8n, «id_empresa» (arriba, fuera de config) es obligatorio: " +
        "escribe el número de la empresa.", true);
      return null;
    }
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
    const bubble = el("div", "bubble", "");  // hidden by the style sheet while empty
    item.append(status, bubble);
    $("messages").append(item);
    scrollDown();
    return { item, status, bubble };
  }

  function addPersonMessage(text, author) {
    const item = el("li", "msg person");
    item.append(el("div", "who", `Persona: ${author}`), el("div", "bubble", text));
    $("messages").append(item);
    scrollDown();
    return item;
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

  // -- a turn's details (its record in the stored conversation) ------------------------------------
  const ROUTERS = { model: "modelo", offline: "offline", direct: "directo", deadline: "plazo vencido" };
  const OUTCOMES = { delegated: "delegado", failed: "falló", timed_out: "sin respuesta a tiempo" };
  const CORRECTIONS = {
    modalidad: "modalidad del bot",
    continuity: "continuidad con el agente activo",
    not_allowed: "agente no permitido: respondió el orquestador",
  };

  function failedCall(details) {
    const call = details && details.agent_call;
    return call && call.outcome !== "delegated" ? call : null;
  }

  function callText(call) {
    const error = call.error ? ` (${call.error})` : "";
    return `${OUTCOMES[call.outcome] || call.outcome}${error}`;
  }

  function ms(value) {
    return value === undefined || value === null ? "–" : `${Math.round(value)} ms`;
  }

  function detailBox(details) {
    const box = el("div", "turn-detail");
    const call = details.agent_call;
    box.dataset.outcome = call ? call.outcome : "none";
    box.dataset.intent = details.intent;
    box.dataset.router = details.router;
    const decision = details.action === "delegate"
      ? `delegar → ${(call && call.agent) || details.requested || "?"}` : "responder";
    const lines = [
      `Router: ${ROUTERS[details.router] || details.router} · decisión: ${decision} · ` +
        `intención: ${details.intent}`,
      `Agentes permitidos: ${details.allowed.length ? details.allowed.join(", ") : "ninguno"}`,
    ];
    if (details.correction) {
      const asked = details.requested ? ` (pidió ${details.requested})` : "";
      lines.push(`Corrección: ${CORRECTIONS[details.correction] || details.correction}${asked}`);
    }
    if (call) {
      lines.push(`Llamada al agente ${call.agent}: ${callText(call)} · ${ms(call.ms)}` +
        (details.fallback ? " · se respondió la frase de respaldo" : ""));
    } else {
      lines.push("Sin llamada a un agente");
    }
    if (details.merged > 1) lines.push(`Mensajes unidos en este turno: ${details.merged}`);
    const t = details.timings_ms || {};
    lines.push(`Tiempos: enrutado ${ms(t.routing)} · contexto ${ms(t.context)}` +
      (t.agent !== undefined ? ` · agente ${ms(t.agent)}` : ""));
    if (details.tokens && details.tokens.model_calls) {
      const k = details.tokens;
      lines.push(`Tokens: ${k.input} entrada · ${k.output} salida (${k.model_calls} llamadas al modelo)`);
    }
    for (const line of lines) box.append(el("div", "", line));
    return box;
  }

  // The meta line: who answered; a failed agent is named as failed, never as the orchestrator.
  function metaLine(done, seconds, requestId, details) {
    const meta = el("div", "meta");
    const call = failedCall(details);
    // the API's action stays in data-action; a failed agent's fallback is not labelled `respond`
    const label = call ? "fallback" : done.action;
    const action = el("span", `action ${call ? "failed" : done.action}`, label);
    meta.dataset.action = done.action;
    meta.dataset.agent = done.agent_used || "";
    meta.append(action);
    let who;
    if (call) who = ` → ${call.agent} ✗ ${callText(call)} · respuesta de respaldo`;
    else if (done.action === "human") who = " · una persona atiende esta conversación";
    else who = done.agent_used ? ` → ${done.agent_used}` : " · orquestador";
    meta.classList.toggle("failed", Boolean(call));
    meta.append(document.createTextNode(who));
    if (seconds !== null) meta.append(document.createTextNode(` · ${seconds.toFixed(2)} s`));
    if (requestId) meta.append(document.createTextNode(` · id ${requestId}`));
    return meta;
  }

  function finishBotMessage(view, done, seconds, requestId, details) {
    if (view.status) view.status.remove();
    view.bubble.textContent = done.reply;
    if (done.action === "human" && !done.reply) {
      view.bubble.textContent = "(en manos de una persona: el bot no responde)";
      view.item.classList.add("held");
    }
    const extra = done.url ? attachment(done.url) : null;
    if (extra) view.item.append(extra);
    view.item.append(metaLine(done, seconds, requestId, details));
    if (details) view.item.append(detailBox(details));
    if (requestId) state.live[requestId] = { seconds, reply: done.reply };
  }

  function failed(view, text, requestId) {
    view.item.classList.add("error");
    view.status.textContent = "Error";
    view.bubble.textContent = text;
    if (requestId) {
      const meta = el("div", "request-id", `id ${requestId}`);  // not .meta: one per reply
      meta.dataset.requestId = requestId;
      view.item.append(meta);
    }
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
      failed(view, explainRefusal(response.status, await detailOf(response)), requestId);
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
        failed(view, explainRefusal(poll.status, await detailOf(poll), false), requestId);
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
        const details = await latestDetails();
        view.item.insertBefore(metaLine(event, seconds, requestId, details), line);
        if (details) view.item.insertBefore(detailBox(details), line);
      } else {
        failed(view, `${event.detail} (${event.status})`, requestId);
      }
      return;
    }
    failed(view, "La respuesta no llegó al webhook a tiempo; revisa GET /webhooks/failed.",
      requestId);
  }

  // One turn at a time (Enter during a turn does not send again), except when the service
  // merges bursts (DOUBLE_TEXTING=merge): then messages typed during a turn join its burst.
  function setBusy(busy) {
    state.inFlight = Math.max(0, state.inFlight + (busy ? 1 : -1));
    state.busy = state.inFlight > 0 && state.setup.double_texting !== "merge";
    $("send").disabled = state.busy;
    document.body.classList.toggle("busy", state.inFlight > 0);
  }

  async function send() {
    if (state.busy) return;  // one turn at a time (see setBusy)
    const input = $("message");
    const message = input.value;
    if (!message.trim()) return;
    if (!sessionId()) $("session-id").value = newSessionId();
    localStorage.setItem(SESSION_KEY, sessionId());
    const body = requestBody(message);
    if (body === null) {
      if ($("extra-error").hidden === false) {
        notice("Corrige «Otras claves de config» antes de enviar.", true);
      }
      return;
    }
    notice("");
    saveForm();
    input.value = "";
    setBusy(true);
    const userItem = addUserMessage(message);
    const view = addBotMessage();
    const started = performance.now();
    let requestId = null;
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
      requestId = response.headers.get("X-Request-ID");
      if (requestId) userItem.dataset.requestId = requestId;
      if (!response.ok) {
        failed(view, explainRefusal(response.status, await detailOf(response)), requestId);
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
          const seconds = (performance.now() - started) / 1000;
          const details = event.data.action === "human" ? null : await latestDetails();
          finishBotMessage(view, event.data, seconds, requestId, details);
          const members = requestId ? burstOf(requestId) : [];
          const meta = view.item.querySelector(".meta");
          if (members.length && meta) {
            meta.dataset.burst = String(members.length + 1);
            meta.append(document.createTextNode(` · ráfaga de ${members.length + 1} mensajes`));
            for (const item of [...members, userItem]) item.dataset.burstOf = requestId;
          }
          if (event.data.handoff) setMode("human");
        } else if (event.name === "error") {
          finished = true;
          failed(view, `${event.data.detail} (${event.data.status})`, requestId);
        }
      }
      if (!finished) failed(view, "La conexión se cortó antes de terminar la respuesta.", requestId);
    } catch (_) {
      failed(view, "No se pudo conectar con el servicio. ¿Está en marcha?", requestId);
    } finally {
      setBusy(false);
      scrollDown();
      input.focus();
      loadStored();
      loadConversations();
      loadAgents();
    }
  }

  // -- stored conversation (admin endpoints) -------------------------------------------------------
  function companyParam() {
    const company = fieldInput("id_empresa").value.trim();
    return /^\d+$/.test(company) ? `?id_empresa=${company}` : "";
  }

  // GET /memory/sessions/{id}: {status, body} (status 0: the service could not be reached).
  async function fetchStored(id = sessionId()) {
    if (!id) return { status: 404, body: null };
    try {
      const response = await fetch(`/memory/sessions/${encodeURIComponent(id)}${companyParam()}`,
        { headers: headers() });
      if (!response.ok) return { status: response.status, body: null, detail: await detailOf(response) };
      return { status: 200, body: await response.json() };
    } catch (_) {
      return { status: 0, body: null };
    }
  }

  // The details of the conversation's latest reply (null when the memory cannot be read).
  async function latestDetails() {
    const stored = await fetchStored();
    if (!stored.body) return null;
    const replies = stored.body.messages.filter((m) => m.role === "assistant" && m.details);
    return replies.length ? replies[replies.length - 1].details : null;
  }

  function storedAction(message) {
    const by = message.agent || "orquestador";
    return by === "orquestador" ? { action: "respond", agent_used: null }
      : { action: "delegate", agent_used: by };
  }

  // Rebuild the chat pane from the stored conversation (after a reload, or a conversation opened).
  function renderTranscript(stored) {
    const list = $("messages");
    list.replaceChildren();
    if (!stored) return;
    for (const message of stored.messages) {
      if (message.role === "user") {
        addUserMessage(message.content);
      } else if ((message.agent || "").startsWith(PERSON)) {
        addPersonMessage(message.content, message.agent.slice(PERSON.length));
      } else {
        const view = addBotMessage();
        view.item.classList.add("stored");
        finishBotMessage(view, { reply: message.content, ...storedAction(message) }, null, null,
          message.details);
      }
    }
    scrollDown();
  }

  function showStoredPanel(stored) {
    const summary = $("stored-summary");
    const list = $("stored-messages");
    list.replaceChildren();
    if (!sessionId()) {
      summary.textContent = "Sin sesión.";
      return;
    }
    if (stored.status === 0) {
      summary.textContent = "No se pudo leer la memoria guardada.";
      return;
    }
    if (stored.status === 404) {
      summary.textContent = "Sin conversación guardada para esta sesión.";
      return;
    }
    if (!stored.body) {
      summary.textContent = stored.status === 401 || stored.status === 403
        ? explainRefusal(stored.status, stored.detail, false)
        : `Error ${stored.status}: ${stored.detail}`;
      return;
    }
    const body = stored.body;
    const agent = body.active_agent ? `agente activo: ${body.active_agent}` : "sin agente activo";
    const turns = body.turns === 1 ? "1 turno guardado" : `${body.turns} turnos guardados`;
    summary.textContent = `${turns} (${body.total_turns} en total) · ${agent}`;
    for (const message of body.messages) {
      const item = el("li", message.role);
      const agent = message.agent || "orquestador";
      let who = message.role === "user" ? "Cliente" : `Bot (${agent})`;
      if (agent.startsWith(PERSON)) {
        who = `Persona (${agent.slice(PERSON.length)})`;
        item.classList.add("person");
      }
      item.append(el("span", "who", who), el("span", "text", message.content));
      list.append(item);
    }
  }

  async function loadStored() {
    const stored = await fetchStored();
    showStoredPanel(stored);
    return stored;
  }

  async function openConversation() {
    const stored = await loadStored();
    // an unreadable memory (no admin key, service down) leaves the chat pane as it is
    if (stored.body || stored.status === 404) renderTranscript(stored.body);
    await loadMode();
  }

  async function clearStored() {
    const id = sessionId();
    if (!id) return;
    let response;
    try {
      response = await fetch(`/memory/clear/${encodeURIComponent(id)}${companyParam()}`, {
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
    loadConversations();
  }

  function startNewConversation() {
    $("session-id").value = newSessionId();
    localStorage.setItem(SESSION_KEY, sessionId());
    $("messages").replaceChildren();
    notice("");
    setMode("bot");
    loadStored();
    $("message").focus();
  }

  // -- the conversations list (GET /sessions, admin) ------------------------------------------------
  function when(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("es-PE");
  }

  async function loadConversations() {
    const query = $("conv-search").value.trim();
    const summary = $("conv-summary");
    const list = $("conv-list");
    let response;
    try {
      response = await fetch(`/sessions?limit=100${query ? `&q=${encodeURIComponent(query)}` : ""}`,
        { headers: headers() });
    } catch (_) {
      summary.textContent = "No se pudo leer la lista.";
      return null;
    }
    if (!response.ok) {
      summary.textContent = explainRefusal(response.status, await detailOf(response), false);
      list.replaceChildren();
      return null;
    }
    const body = await response.json();
    summary.textContent = body.total === 1 ? "1 conversación" : `${body.total} conversaciones`;
    list.replaceChildren();
    for (const row of body.sessions) {
      const item = el("li");
      const button = el("button", "conv");
      button.type = "button";
      button.dataset.session = row.session_id;
      button.dataset.mode = row.mode;
      button.classList.toggle("current", row.session_id === sessionId());
      const company = row.id_empresa === null ? "empresa ?" : `empresa ${row.id_empresa}`;
      const outcome = row.last_outcome && row.last_outcome !== "delegated"
        ? ` · ✗ ${OUTCOMES[row.last_outcome]}` : "";
      button.append(
        el("strong", "", row.session_id),
        el("span", "line", `${company} · ${row.turns} turnos · ${row.active_agent || "sin agente"}`),
        el("span", `line mode-${row.mode}`, `${row.mode === "human" ? "persona" : "bot"} · ` +
          `${when(row.last_activity)}${outcome}`),
      );
      button.addEventListener("click", () => {
        $("session-id").value = row.session_id;
        if (row.id_empresa !== null) fieldInput("id_empresa").value = String(row.id_empresa);
        localStorage.setItem(SESSION_KEY, row.session_id);
        saveForm();
        notice("");
        openConversation();
        loadConversations();
      });
      item.append(button);
      list.append(item);
    }
    return body;
  }

  // -- agents' states (/ready) ----------------------------------------------------------------------
  const AGENT_STATES = {
    ok: "disponible", unreachable: "sin conexión", circuit_open: "circuito abierto",
    disabled: "desactivado",
  };

  async function loadAgents() {
    const box = $("agent-badges");
    let body;
    try {
      body = await (await fetch("/ready")).json();
    } catch (_) {
      return;
    }
    box.replaceChildren();
    for (const [name, agentState] of Object.entries(body.agents || {})) {
      const badge = el("span", "badge", `${name}: ${AGENT_STATES[agentState] || agentState}`);
      badge.dataset.agent = name;
      badge.dataset.state = agentState;
      box.append(badge);
    }
  }

  // -- human handoff (the handoff endpoints, admin) ---------------------------------------------------
  function setMode(mode) {
    state.mode = mode;
    const badge = $("mode-badge");
    badge.dataset.mode = mode;
    badge.textContent = mode === "human" ? "persona" : "bot";
    $("take-over").hidden = mode === "human";
    $("give-back").hidden = mode !== "human";
    $("operator-form").hidden = mode !== "human";
  }

  async function loadMode() {
    const id = sessionId();
    let mode = "bot";
    try {
      const response = await fetch(`/sessions?q=${encodeURIComponent(id)}`, { headers: headers() });
      if (response.ok) {
        const row = (await response.json()).sessions.find((r) => r.session_id === id);
        if (row) mode = row.mode;
      }
    } catch (_) {
      // the list is unreachable: the bot's mode is shown
    }
    setMode(mode);
  }

  async function handoffCall(path, body) {
    const id = sessionId();
    if (!id) return null;
    let response;
    try {
      response = await fetch(`/sessions/${encodeURIComponent(id)}/${path}${companyParam()}`, {
        method: "POST",
        headers: headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      notice("No se pudo conectar con el servicio.", true);
      return null;
    }
    if (!response.ok) {
      notice(explainRefusal(response.status, await detailOf(response)), true);
      return null;
    }
    return response;
  }

  async function takeOver() {
    if (await handoffCall("handoff")) {
      setMode("human");
      notice("Conversación en manos de una persona: el bot no responde hasta devolverla.");
      $("operator-text").focus();
      loadConversations();
    }
  }

  async function giveBack() {
    if (await handoffCall("resume")) {
      setMode("bot");
      notice("Conversación devuelta al bot.");
      loadConversations();
    }
  }

  async function answerAsPerson() {
    const text = $("operator-text").value;
    const author = $("operator-author").value.trim() || "operador";
    if (!text.trim()) return;
    if (await handoffCall("messages", { text, author })) {
      $("operator-text").value = "";
      addPersonMessage(text, author);
      loadStored();
    }
  }

  // -- export -------------------------------------------------------------------------------------
  async function exportConversation() {
    const stored = await fetchStored();
    if (!stored.body) {
      notice(stored.status === 404 ? "No hay conversación guardada que exportar."
        : explainRefusal(stored.status, stored.detail || "", false), true);
      return;
    }
    const data = {
      exported_at: new Date().toISOString(),
      session_id: sessionId(),
      id_empresa: fieldInput("id_empresa").value.trim() || null,
      mode: state.mode,
      conversation: stored.body,
    };
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const link = el("a");
    link.href = URL.createObjectURL(blob);
    link.download = `conversacion-${sessionId().replace(/[^\w.-]+/g, "_")}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
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
      openConversation();
    });
    $("new-session").addEventListener("click", startNewConversation);
    $("clear-session").addEventListener("click", clearStored);
    $("refresh-stored").addEventListener("click", loadStored);
    $("refresh-conversations").addEventListener("click", loadConversations);
    let searchTimer = null;
    $("conv-search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(loadConversations, 250);
    });
    $("take-over").addEventListener("click", takeOver);
    $("give-back").addEventListener("click", giveBack);
    $("operator-form").addEventListener("submit", (event) => {
      event.preventDefault();
      answerAsPerson();
    });
    $("export").addEventListener("click", exportConversation);
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
      loadConversations();
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
    // a reload reopens the conversation from the storage (the chat pane is rebuilt from it)
    await Promise.all([openConversation(), loadConversations(), loadAgents()]);
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
