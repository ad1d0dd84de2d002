// tacws-client.js — a reliable browser client for tacwsd, usable on its own.
//
//   import { TacwsClient } from './tacws-client.js';
//   const client = new TacwsClient({ url: 'ws://127.0.0.1:8003' });
//   client.subscribe('queue', (msg, meta) => render(msg.data, meta.snapshot));
//   client.onStatus((conns) => showIndicators(conns));
//   await client.start();
//
// What it does for you:
// - one multiplexed socket (/api/v1/ws) when GET /api/v1/feeds says "multiplex": true,
//   else one socket per topic;
// - reconnects with exponential backoff and full jitter (ceiling 1 s, 2 s, 4 s … capped at
//   30 s), at most maxAttempts tries (10) before going "offline"; the count resets on open;
//   reconnectNow() retries at once;
// - page hidden → closes after hiddenGraceMs and stops retrying; visible → reconnects at
//   once; the window's "online" event → reconnects at once;
// - sends {"type":"ping"} every 25 s; no pong within pongTimeoutMs = a dead connection;
// - the first message after each (re)open is flagged meta.snapshot: it replaces what the
//   page holds; seq gaps are detected, logged and flagged in meta.gap;
// - with { delta: true } it asks for JSON Patch deltas (RFC 6902) and applies each to the
//   state it holds for the topic, so handlers still get the whole new state as msg.data.
//   A delta whose base_seq is not the last seq seen is never applied: the client waits for
//   a full snapshot and asks for one by subscribing again.
//
// Every timing input (clock, timers, random, WebSocket, fetch, document, window, logger)
// comes from `env`, so the logic runs under node's test runner without a browser.

export const DEFAULTS = Object.freeze({
	baseDelayMs: 1000,
	maxDelayMs: 30000,
	maxAttempts: 10,
	pingIntervalMs: 25000,
	pongTimeoutMs: 10000,
	connectTimeoutMs: 10000,
	hiddenGraceMs: 30000,
});

// Message type of each feed (DESIGN §2); used to route multiplexed messages that carry
// no explicit feed name.
export const FEED_TYPES = Object.freeze({
	workflows: 'workflows_update',
	routes: 'routes_update',
	'workflow-history': 'workflow_history_update',
	'adw-monitor': 'adw_monitor_update',
	queue: 'queue_update',
	'adw-state': 'adw_state_update',
	'system-status': 'system_status_update',
	'webhook-status': 'webhook_status_update',
	'planned-features': 'planned_features_update',
	'qc-metrics': 'qc_metrics_update',
});

// The largest delay before retry number `attempt` (0-based): base·2^attempt, capped.
export function backoffCeiling(attempt, opts = DEFAULTS) {
	const base = opts.baseDelayMs ?? DEFAULTS.baseDelayMs;
	const cap = opts.maxDelayMs ?? DEFAULTS.maxDelayMs;
	return Math.min(cap, base * Math.pow(2, Math.max(0, attempt)));
}

// "Full jitter": uniform in [0, ceiling), so a server restart does not get every client back
// at the same instant.
export function backoffDelay(attempt, random = Math.random, opts = DEFAULTS) {
	return Math.floor(random() * backoffCeiling(attempt, opts));
}

export function browserEnv() {
	const g = globalThis;
	return {
		WebSocket: g.WebSocket,
		fetch: g.fetch ? g.fetch.bind(g) : undefined,
		now: () => Date.now(),
		setTimeout: (fn, ms) => g.setTimeout(fn, ms),
		clearTimeout: (id) => g.clearTimeout(id),
		random: Math.random,
		document: g.document,
		window: g.window,
		logger: g.console,
	};
}

// Connection states, as shown to users.
export const STATE = Object.freeze({
	IDLE: 'idle',
	CONNECTING: 'connecting',
	LIVE: 'live',
	RECONNECTING: 'reconnecting',
	OFFLINE: 'offline', // gave up after maxAttempts; reconnectNow() or visible/online revive it
	PAUSED: 'paused', // page hidden past the grace period
	STOPPED: 'stopped',
});

// One WebSocket URL kept open: backoff, ping/pong, suspend/resume. Callbacks:
// onOpen(), onMessage(msg) for every parsed non-pong message, onStatus(status).
export class ReliableSocket {
	// url: a string, or a function giving the URL for each attempt (a resume's since).
	constructor(url, { env, options = {}, label = url, onOpen, onMessage, onStatus } = {}) {
		this.urlOf = typeof url === 'function' ? url : () => url;
		this.url = this.urlOf();
		this.label = label;
		this.env = env || browserEnv();
		this.opts = { ...DEFAULTS, ...options };
		this.onOpen = onOpen || (() => {});
		this.onMessage = onMessage || (() => {});
		this.onStatusCb = onStatus || (() => {});
		this.state = STATE.IDLE;
		this.attempt = 0;
		this.nextAttemptAt = null;
		this.lastMessageAt = null;
		this.openedAt = null;
		this.rttMs = null;
		this.ws = null;
		this.timers = { retry: null, connect: null, ping: null, pong: null };
	}

	get status() {
		return {
			label: this.label,
			url: this.url,
			state: this.state,
			attempt: this.attempt,
			maxAttempts: this.opts.maxAttempts,
			nextAttemptAt: this.nextAttemptAt,
			lastMessageAt: this.lastMessageAt,
			openedAt: this.openedAt,
			rttMs: this.rttMs,
		};
	}

	start() {
		if (this.state === STATE.IDLE) this._connect();
	}

	send(obj) {
		if (!this.ws || this.state !== STATE.LIVE) return false;
		try {
			this.ws.send(JSON.stringify(obj));
			return true;
		} catch (e) {
			return false;
		}
	}

	// Manual retry, and what visible/online use: a fresh count, a try right now.
	reconnectNow() {
		if (this.state === STATE.STOPPED) return;
		this._drop();
		this.attempt = 0;
		this._connect();
	}

	// Wakes a socket that is not open; a live or opening socket is left alone.
	resume() {
		if (
			this.state === STATE.LIVE ||
			this.state === STATE.CONNECTING ||
			this.state === STATE.STOPPED
		)
			return;
		this.reconnectNow();
	}

	suspend() {
		if (this.state === STATE.STOPPED) return;
		this._drop();
		this._setState(STATE.PAUSED);
	}

	stop() {
		this._drop();
		this._setState(STATE.STOPPED);
	}

	_setState(state) {
		if (state !== STATE.RECONNECTING) this.nextAttemptAt = null;
		this.state = state;
		this.onStatusCb(this.status);
	}

	_clear(name) {
		if (this.timers[name] !== null) {
			this.env.clearTimeout(this.timers[name]);
			this.timers[name] = null;
		}
	}

	// Forgets the current socket at once: its late events must not touch the new one.
	_drop() {
		for (const name of Object.keys(this.timers)) this._clear(name);
		const ws = this.ws;
		this.ws = null;
		if (ws) {
			ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
			try {
				ws.close(1000);
			} catch (e) {
				/* already closing */
			}
		}
	}

	_connect() {
		let ws;
		try {
			this.url = this.urlOf();
			ws = new this.env.WebSocket(this.url);
		} catch (e) {
			this.env.logger?.warn?.(`tacws: ${this.label}: ${e.message || e}`);
			this._fail();
			return;
		}
		this.ws = ws;
		this.nextAttemptAt = null;
		this._setState(this.attempt === 0 ? STATE.CONNECTING : STATE.RECONNECTING);
		this.timers.connect = this.env.setTimeout(() => {
			this.timers.connect = null;
			this._fail();
		}, this.opts.connectTimeoutMs);
		ws.onopen = () => {
			if (this.ws !== ws) return;
			this._clear('connect');
			this.attempt = 0;
			this.openedAt = this.env.now();
			this.lastMessageAt = this.openedAt;
			this._setState(STATE.LIVE);
			this._schedulePing();
			this.onOpen();
		};
		ws.onmessage = (ev) => {
			if (this.ws !== ws) return;
			this._onFrame(ev.data);
		};
		ws.onclose = () => {
			if (this.ws === ws) this._fail();
		};
		// Browsers always follow an error with a close; nothing to do until then.
		ws.onerror = () => {};
	}

	_onFrame(text) {
		this.lastMessageAt = this.env.now();
		let msg;
		try {
			msg = JSON.parse(text);
		} catch (e) {
			this.env.logger?.warn?.(`tacws: ${this.label}: not JSON, ignored`);
			return;
		}
		if (msg && msg.type === 'pong') {
			this._clear('pong');
			if (typeof msg.timestamp === 'number')
				this.rttMs = Math.max(0, this.env.now() - msg.timestamp);
			this.onStatusCb(this.status);
			return;
		}
		this.onMessage(msg);
	}

	_schedulePing() {
		this.timers.ping = this.env.setTimeout(() => {
			this.timers.ping = null;
			if (this.state !== STATE.LIVE) return;
			this.send({ type: 'ping', timestamp: this.env.now() });
			this._clear('pong');
			this.timers.pong = this.env.setTimeout(() => {
				this.timers.pong = null;
				this.env.logger?.warn?.(
					`tacws: ${this.label}: no pong, connection dead`,
				);
				this._fail();
			}, this.opts.pongTimeoutMs);
			this._schedulePing();
		}, this.opts.pingIntervalMs);
	}

	_fail() {
		if (this.state === STATE.PAUSED || this.state === STATE.STOPPED) return;
		this._drop();
		if (this.attempt >= this.opts.maxAttempts) {
			this._setState(STATE.OFFLINE);
			return;
		}
		const delay = backoffDelay(this.attempt, this.env.random, this.opts);
		this.attempt += 1;
		this.nextAttemptAt = this.env.now() + delay;
		this.state = STATE.RECONNECTING;
		this.onStatusCb(this.status);
		this.timers.retry = this.env.setTimeout(() => {
			this.timers.retry = null;
			this._connect();
		}, delay);
	}
}

// Page lifecycle: hidden → suspend after a grace period; visible or online → resume now.
// Kept apart from the sockets so it can be tested with a fake document and clock.
export class LifecycleWatcher {
	constructor({ env, graceMs = DEFAULTS.hiddenGraceMs, onSuspend, onResume }) {
		this.env = env;
		this.graceMs = graceMs;
		this.onSuspend = onSuspend;
		this.onResume = onResume;
		this.timer = null;
		this.suspended = false;
		this._onVisibility = () => this.visibilityChanged();
		this._onOnline = () => this.wake('online');
	}

	attach() {
		this.env.document?.addEventListener?.('visibilitychange', this._onVisibility);
		this.env.window?.addEventListener?.('online', this._onOnline);
		if (this.env.document?.visibilityState === 'hidden') this.visibilityChanged();
	}

	detach() {
		this.env.document?.removeEventListener?.('visibilitychange', this._onVisibility);
		this.env.window?.removeEventListener?.('online', this._onOnline);
		this._cancel();
	}

	visibilityChanged() {
		if (this.env.document?.visibilityState === 'hidden') {
			if (this.timer === null && !this.suspended)
				this.timer = this.env.setTimeout(() => {
					this.timer = null;
					this.suspended = true;
					this.onSuspend();
				}, this.graceMs);
		} else {
			this.wake('visible');
		}
	}

	wake(reason) {
		this._cancel();
		this.suspended = false;
		this.onResume(reason);
	}

	_cancel() {
		if (this.timer !== null) {
			this.env.clearTimeout(this.timer);
			this.timer = null;
		}
	}
}


// ---- JSON Patch (RFC 6902), applied without mutating the previous state: containers on
// the paths an operation touches are copied once per patch, the rest is shared, so a page
// that compares references sees exactly what changed. Throws on a patch that does not apply.

const hasOwn = (o, k) => Object.hasOwn(o, k);

function isContainer(v) {
	return v !== null && typeof v === 'object';
}

// RFC 6901: "" is the whole document; "/a~1b/~0c" is ["a/b", "~c"].
function parsePointer(ptr) {
	if (ptr === '') return [];
	if (typeof ptr !== 'string' || ptr[0] !== '/') throw new Error(`bad pointer ${ptr}`);
	return ptr
		.slice(1)
		.split('/')
		.map((t) => {
			if (!t.includes('~')) return t;
			if (/~[^01]|~$/.test(t)) throw new Error(`bad escape in ${ptr}`);
			return t.replace(/~1/g, '/').replace(/~0/g, '~');
		});
}

function arrayIndex(arr, token, allowEnd) {
	if (allowEnd && token === '-') return arr.length;
	if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`bad index ${token}`);
	const i = Number(token);
	if (i > arr.length || (!allowEnd && i === arr.length)) throw new Error(`index ${i} out of range`);
	return i;
}

function setOwn(obj, key, value) {
	// Assigning "__proto__" would change the prototype: define it as a member instead.
	if (key === '__proto__')
		Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
	else obj[key] = value;
}

// Spread copies "__proto__" as a member too (it defines, it does not assign).
function shallowCopy(v) {
	return Array.isArray(v) ? v.slice() : { ...v };
}

function deepEqual(a, b) {
	if (a === b) return true;
	if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
	const ka = Object.keys(a);
	const kb = Object.keys(b);
	if (ka.length !== kb.length) return false;
	return ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
}

export function applyJsonPatch(doc, ops) {
	if (!Array.isArray(ops)) throw new Error('a patch is an array');
	const fresh = new Set(); // containers copied by this patch: safe to change in place
	const holder = { root: doc };
	const own = (c) => {
		if (fresh.has(c)) return c;
		const copy = shallowCopy(c);
		fresh.add(copy);
		return copy;
	};
	// The container the tokens but the last name, made writable along the way.
	const parentOf = (tokens) => {
		let parent = holder;
		let key = 'root';
		for (const t of tokens.slice(0, -1)) {
			const child = own(parent[key]);
			setOwn(parent, key, child);
			if (Array.isArray(child)) key = arrayIndex(child, t, false);
			else if (isContainer(child) && hasOwn(child, t)) key = t;
			else throw new Error(`no member ${t}`);
			parent = child;
		}
		const last = own(parent[key]);
		if (!isContainer(last)) throw new Error('not a container');
		setOwn(parent, key, last);
		return last;
	};
	const get = (ptr) => {
		let v = holder.root;
		for (const t of parsePointer(ptr)) {
			if (Array.isArray(v)) v = v[arrayIndex(v, t, false)];
			else if (isContainer(v) && hasOwn(v, t)) v = v[t];
			else throw new Error(`no value at ${ptr}`);
		}
		return v;
	};
	const add = (ptr, value, replace) => {
		const tokens = parsePointer(ptr);
		if (!tokens.length) {
			holder.root = value;
			return;
		}
		const parent = parentOf(tokens);
		const t = tokens[tokens.length - 1];
		if (Array.isArray(parent)) {
			const i = arrayIndex(parent, t, !replace);
			parent.splice(i, replace ? 1 : 0, value);
		} else {
			if (replace && !hasOwn(parent, t)) throw new Error(`no member ${t}`);
			setOwn(parent, t, value);
		}
	};
	const remove = (ptr) => {
		const tokens = parsePointer(ptr);
		if (!tokens.length) throw new Error('cannot remove the document');
		const parent = parentOf(tokens);
		const t = tokens[tokens.length - 1];
		if (Array.isArray(parent)) parent.splice(arrayIndex(parent, t, false), 1);
		else if (hasOwn(parent, t)) delete parent[t];
		else throw new Error(`no member ${t}`);
	};
	for (const op of ops) {
		if (!isContainer(op) || typeof op.path !== 'string') throw new Error('bad operation');
		switch (op.op) {
			case 'add':
			case 'replace':
				if (!hasOwn(op, 'value')) throw new Error(`${op.op} without a value`);
				if (op.op === 'replace') get(op.path);
				add(op.path, op.value, op.op === 'replace');
				break;
			case 'remove':
				remove(op.path);
				break;
			case 'move': {
				if (op.path.startsWith(`${op.from}/`)) throw new Error('move into itself');
				const v = get(op.from);
				if (op.from === '') break;
				remove(op.from);
				add(op.path, v, false);
				break;
			}
			case 'copy':
				add(op.path, get(op.from), false);
				break;
			case 'test':
				if (!deepEqual(get(op.path), op.value)) throw new Error(`test failed at ${op.path}`);
				break;
			default:
				throw new Error(`unknown op ${op.op}`);
		}
	}
	return holder.root;
}

function feedOf(topic) {
	const slash = topic.indexOf('/');
	return slash < 0 ? topic : topic.slice(0, slash);
}

// Subscriptions by topic ("queue", "adw-state/77c90e61") over one or many ReliableSockets.
export class TacwsClient {
	// url: ws://host:port (no path); apiPrefix: "/api/v1"; token: the ws_token, if any;
	// multiplex: 'auto' (ask /feeds), true or false; delta: ask for JSON Patch deltas.
	constructor({
		url,
		apiPrefix = '/api/v1',
		token = '',
		multiplex = 'auto',
		delta = false,
		env,
		options,
	} = {}) {
		this.delta = Boolean(delta);
		this.url = url.replace(/\/+$/, '');
		this.apiPrefix = apiPrefix.replace(/\/+$/, '');
		this.token = token;
		this.multiplexWanted = multiplex;
		this.env = env || browserEnv();
		this.opts = { ...DEFAULTS, ...options };
		this.topics = new Map();
		this.sockets = new Map(); // topic (or '*' when multiplexed) → ReliableSocket
		this.statusListeners = new Set();
		this.multiplex = false;
		this.started = false;
		this.ready = false; // sockets are open(ing): new topics need their own subscribe
		this.gaps = 0;
		this.deltaMisses = 0;
		this.resumes = 0; // reconnects that kept the state held (the server said resumed) // deltas not applied (wrong base or a broken patch)
		this.lifecycle = new LifecycleWatcher({
			env: this.env,
			graceMs: this.opts.hiddenGraceMs,
			onSuspend: () => this._each((s) => s.suspend()),
			onResume: () => this._each((s) => s.resume()),
		});
	}

	get httpUrl() {
		return this.url.replace(/^ws/, 'http');
	}

	// Asks the server whether it offers the multiplexed socket; any failure means "no".
	async detectMultiplex() {
		if (this.multiplexWanted !== 'auto') return Boolean(this.multiplexWanted);
		if (!this.env.fetch) return false;
		try {
			const headers = this.token ? { Authorization: `Bearer ${this.token}` } : {};
			const res = await this.env.fetch(`${this.httpUrl}${this.apiPrefix}/feeds`, {
				headers,
			});
			if (!res.ok) return false;
			const body = await res.json();
			return Boolean(body && body.multiplex === true);
		} catch (e) {
			return false;
		}
	}

	async start() {
		if (this.started) return;
		this.started = true;
		const multiplex = await this.detectMultiplex();
		// stop() may have run while we waited; topics added meanwhile are opened below.
		if (!this.started) return;
		this.multiplex = multiplex;
		this.ready = true;
		this.lifecycle.attach();
		if (this.multiplex) this._open('*');
		else for (const topic of this.topics.keys()) this._open(topic);
		this._emitStatus();
	}

	stop() {
		this.lifecycle.detach();
		this._each((s) => s.stop());
		this.sockets.clear();
		this.started = false;
		this.ready = false;
	}

	reconnectNow() {
		this._each((s) => s.reconnectNow());
	}

	// handler(msg, meta): meta.snapshot is true for the first message after each open
	// (replace, don't merge); meta.gap is {expected, got} when updates were missed.
	// Returns a function that removes the handler (and the subscription when it was last).
	subscribe(topic, handler) {
		let t = this.topics.get(topic);
		if (!t) {
			t = {
				handlers: new Set(),
				seq: null,
				epoch: null, // the topic's epoch on the server: with seq, where to resume
				offset: null, // the last event's offset in that epoch: missed ones are replayed
				data: undefined, // the state deltas apply to; undefined until a snapshot
				awaitingSnapshot: true,
				lastAt: null,
			};
			this.topics.set(topic, t);
			if (this.ready) {
				if (this.multiplex) {
					t.awaitingSnapshot = true;
					this.sockets
						.get('*')
						?.send({ type: 'subscribe', feeds: this._subscriptions([topic]) });
				} else {
					this._open(topic);
					this._emitStatus();
				}
			}
		}
		t.handlers.add(handler);
		return () => this._unsubscribe(topic, handler);
	}

	onStatus(fn) {
		this.statusListeners.add(fn);
		return () => this.statusListeners.delete(fn);
	}

	connections() {
		return [...this.sockets.values()].map((s) => s.status);
	}

	_unsubscribe(topic, handler) {
		const t = this.topics.get(topic);
		if (!t) return;
		t.handlers.delete(handler);
		if (t.handlers.size) return;
		this.topics.delete(topic);
		if (this.multiplex) {
			this.sockets.get('*')?.send({ type: 'unsubscribe', feeds: [topic] });
		} else {
			this.sockets.get(topic)?.stop();
			this.sockets.delete(topic);
			this._emitStatus();
		}
	}

	_each(fn) {
		for (const s of this.sockets.values()) fn(s);
	}

	_wsUrl(path, perFeed, topic) {
		const params = [];
		if (this.token) params.push(`token=${encodeURIComponent(this.token)}`);
		if (this.delta && perFeed) params.push('delta=json-patch');
		const from = perFeed && this._resumeFrom(topic);
		if (from) params.push(`since=${from.since}`, `epoch=${encodeURIComponent(from.epoch)}`);
		if (from && from.offset !== undefined) params.push(`offset=${from.offset}`);
		const q = params.length ? `?${params.join('&')}` : '';
		return `${this.url}${this.apiPrefix}/${path}${q}`;
	}

	// Where a topic resumes after a reconnect: the seq and epoch of the state it holds,
	// or null (nothing held yet, or deltas wait for a snapshot).
	_resumeFrom(topic) {
		const t = this.topics.get(topic);
		if (!t || t.seq === null || !t.epoch || (this.delta && t.data === undefined)) return null;
		return { since: t.seq, epoch: t.epoch, ...(t.offset !== null ? { offset: t.offset } : {}) };
	}

	// Subscription entries on the multiplexed socket: names, or objects asking for deltas
	// or resuming (resume: send since and epoch of the state held).
	_subscriptions(topics, resume = false) {
		return topics.map((topic) => {
			const from = resume && this._resumeFrom(topic);
			if (!this.delta && !from) return topic;
			return { topic, ...(this.delta ? { delta: 'json-patch' } : {}), ...(from || {}) };
		});
	}

	_open(key) {
		const multiplexed = key === '*';
		const url = () => this._wsUrl(multiplexed ? 'ws' : `ws/${key}`, !multiplexed, key);
		const sock = new ReliableSocket(url, {
			env: this.env,
			options: this.opts,
			label: multiplexed ? 'multiplexed' : key,
			onOpen: () => {
				if (multiplexed) {
					for (const t of this.topics.values())
						t.awaitingSnapshot = true;
					if (this.topics.size)
						sock.send({
							type: 'subscribe',
							feeds: this._subscriptions([...this.topics.keys()], true),
						});
				} else {
					const t = this.topics.get(key);
					if (t) t.awaitingSnapshot = true;
				}
			},
			onMessage: (msg) => this._route(multiplexed ? null : key, msg),
			onStatus: () => this._emitStatus(),
		});
		this.sockets.set(key, sock);
		sock.start();
	}

	_route(topic, msg) {
		if (!msg || typeof msg !== 'object') return;
		if (topic === null) topic = this._topicOf(msg);
		const t = topic && this.topics.get(topic);
		if (!t) return;
		if (msg.type === 'resumed') {
			this._resumed(t, msg);
			return;
		}
		if (Array.isArray(msg.delta)) {
			msg = this._applyDelta(topic, t, msg);
			if (!msg) return;
		} else if (hasOwn(msg, 'data') && typeof msg.seq === 'number' && this._isState(topic, msg)) {
			t.data = msg.data;
			if (typeof msg.epoch === 'string') this._setEpoch(t, msg.epoch);
		}
		if (typeof msg.offset === 'number' && msg.epoch === t.epoch) t.offset = msg.offset;
		const meta = { topic, snapshot: t.awaitingSnapshot, gap: null };
		if (typeof msg.seq === 'number') {
			if (t.seq !== null && msg.seq > t.seq + 1) {
				meta.gap = { expected: t.seq + 1, got: msg.seq };
				this.gaps += 1;
				this.env.logger?.warn?.(
					`tacws: ${topic}: seq gap, expected ${t.seq + 1}, got ${msg.seq}` +
						(meta.snapshot
							? ' (snapshot after reconnect replaces the data)'
							: ''),
				);
			}
			t.seq = msg.seq;
		}
		t.awaitingSnapshot = false;
		t.lastAt = this.env.now();
		for (const h of [...t.handlers]) h(msg, meta);
	}

	// Event offsets count within an epoch.
	_setEpoch(t, epoch) {
		if (epoch !== t.epoch) t.offset = null;
		t.epoch = epoch;
	}

	// {"type":"resumed"}: recovered, the state held is current and updates continue from
	// it; not recovered, the snapshot that follows replaces it.
	_resumed(t, msg) {
		if (typeof msg.epoch === 'string') this._setEpoch(t, msg.epoch);
		if (msg.recovered === true && msg.seq === t.seq) {
			t.awaitingSnapshot = false;
			this.resumes += 1;
		}
	}

	// The message with the whole new state as data, or null when the delta cannot apply:
	// then the state is dropped until a full snapshot comes, and one is asked for.
	_applyDelta(topic, t, msg) {
		let why = null;
		if (t.data === undefined) why = 'no state to apply it to';
		else if (t.seq !== msg.base_seq) why = `base_seq ${msg.base_seq}, last seq ${t.seq}`;
		let data;
		if (!why) {
			try {
				data = applyJsonPatch(t.data, msg.delta);
			} catch (e) {
				why = e.message || String(e);
			}
		}
		if (why) {
			this.deltaMisses += 1;
			if (t.data !== undefined) {
				this.env.logger?.warn?.(
					`tacws: ${topic}: delta not applied (${why}), asking for a snapshot`,
				);
				t.data = undefined;
				this._resubscribe(topic, t);
			}
			return null; // already waiting for the snapshot asked for
		}
		t.data = data;
		const { delta, base_seq, ...rest } = msg; // eslint-disable-line no-unused-vars
		return { ...rest, data };
	}

	// A feed's own snapshot type (not an event published to it) holds the topic's state.
	_isState(topic, msg) {
		const type = FEED_TYPES[feedOf(topic)];
		return type === undefined || type === msg.type;
	}

	_resubscribe(topic, t) {
		t.awaitingSnapshot = true;
		if (this.multiplex) {
			const sock = this.sockets.get('*');
			sock?.send({ type: 'unsubscribe', feeds: [topic] });
			sock?.send({ type: 'subscribe', feeds: this._subscriptions([topic]) });
		} else {
			this.sockets.get(topic)?.reconnectNow();
		}
	}

	_topicOf(msg) {
		if (typeof msg.feed === 'string') return msg.feed;
		if (typeof msg.topic === 'string') return msg.topic;
		for (const [feed, type] of Object.entries(FEED_TYPES)) {
			if (type !== msg.type) continue;
			return feed === 'adw-state' ? `adw-state/${msg.adw_id}` : feed;
		}
		return null;
	}

	_emitStatus() {
		const list = this.connections();
		for (const fn of [...this.statusListeners]) fn(list);
	}
}
