// Unit tests of web/tacws-client.js: backoff schedule, retry cap, ping/pong, page visibility,
// online, snapshots and seq gaps, multiplex detection. Run: node --test tests/web/
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
	DEFAULTS,
	STATE,
	backoffCeiling,
	backoffDelay,
	ReliableSocket,
	TacwsClient,
	applyJsonPatch,
} from '../../web/tacws-client.js';
import { makeEnv } from './fake_env.mjs';

const ALMOST_ONE = 0.999999;

function socket(env, options = {}) {
	const states = [];
	const messages = [];
	let opens = 0;
	const s = new ReliableSocket('ws://127.0.0.1:1/api/v1/ws/queue', {
		env,
		options,
		onOpen: () => opens++,
		onMessage: (m) => messages.push(m),
		onStatus: (st) => states.push(st.state),
	});
	return { s, states, messages, opens: () => opens };
}

test('backoff ceiling doubles from 1 s and is capped at 30 s', () => {
	const got = [];
	for (let i = 0; i < 10; i++) got.push(backoffCeiling(i));
	assert.deepEqual(got, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000]);
	assert.equal(backoffCeiling(1000), 30000);
	assert.equal(backoffCeiling(2, { baseDelayMs: 100, maxDelayMs: 250 }), 250);
});

test('full jitter spreads the delay over [0, ceiling)', () => {
	assert.equal(
		backoffDelay(3, () => 0),
		0,
	);
	assert.equal(
		backoffDelay(3, () => 0.5),
		4000,
	);
	assert.ok(backoffDelay(3, () => ALMOST_ONE) < 8000);
	assert.ok(backoffDelay(3, () => ALMOST_ONE) >= 7999);
	assert.ok(backoffDelay(9, () => ALMOST_ONE) < 30000);
});

test('retries follow the schedule, then go offline after maxAttempts', () => {
	const { env, clock, instances } = makeEnv({ random: () => ALMOST_ONE });
	const { s, states } = socket(env);
	s.start();
	assert.equal(instances.length, 1);
	assert.equal(s.state, STATE.CONNECTING);

	const delays = [];
	for (let i = 0; i < DEFAULTS.maxAttempts; i++) {
		const before = clock.now();
		instances.at(-1).serverClose();
		assert.equal(s.state, STATE.RECONNECTING);
		assert.ok(s.status.nextAttemptAt > before);
		const n = instances.length;
		const wait = s.status.nextAttemptAt - clock.now();
		clock.advance(wait - 1);
		assert.equal(instances.length, n, 'no early retry');
		clock.advance(1);
		assert.equal(instances.length, n + 1, 'retry on time');
		delays.push(wait);
	}
	const ceilings = delays.map((d) => Math.ceil(d / 1000) * 1000);
	assert.deepEqual(
		ceilings,
		[1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000],
	);

	instances.at(-1).serverClose();
	assert.equal(s.state, STATE.OFFLINE);
	assert.deepEqual(clock.pending(), [], 'offline means no timer left');
	clock.advance(10 * 60 * 1000);
	assert.equal(instances.length, DEFAULTS.maxAttempts + 1);
	assert.equal(states.at(-1), STATE.OFFLINE);
});

test('a successful open resets the attempt count', () => {
	const { env, clock, instances } = makeEnv({ random: () => ALMOST_ONE });
	const { s, opens } = socket(env);
	s.start();
	for (let i = 0; i < 4; i++) {
		instances.at(-1).serverClose();
		clock.advance(s.status.nextAttemptAt - clock.now());
	}
	assert.equal(s.attempt, 4);
	instances.at(-1).serverOpen();
	assert.equal(s.state, STATE.LIVE);
	assert.equal(s.attempt, 0);
	assert.equal(opens(), 1);
	instances.at(-1).serverClose();
	assert.ok(s.status.nextAttemptAt - clock.now() < 1000, 'back to the 1 s ceiling');
});

test('reconnectNow revives an offline socket at once', () => {
	const { env, instances } = makeEnv();
	const { s } = socket(env, { maxAttempts: 0 });
	s.start();
	instances.at(-1).serverClose();
	assert.equal(s.state, STATE.OFFLINE);
	s.reconnectNow();
	assert.equal(instances.length, 2);
	assert.equal(s.state, STATE.CONNECTING);
	instances.at(-1).serverOpen();
	assert.equal(s.state, STATE.LIVE);
});

test('a connection that never opens times out and is retried', () => {
	const { env, clock, instances } = makeEnv();
	const { s } = socket(env, { connectTimeoutMs: 5000 });
	s.start();
	clock.advance(4999);
	assert.equal(s.state, STATE.CONNECTING);
	clock.advance(1);
	assert.equal(s.state, STATE.RECONNECTING);
	assert.ok(instances[0].closed);
});

test('ping every 25 s; a missing pong means a dead connection', () => {
	const { env, clock, instances, logs } = makeEnv();
	const { s, messages } = socket(env);
	s.start();
	const ws = instances[0];
	ws.serverOpen();
	clock.advance(DEFAULTS.pingIntervalMs - 1);
	assert.equal(ws.sent.length, 0);
	clock.advance(1);
	assert.equal(ws.sent.length, 1);
	assert.equal(ws.sent[0].type, 'ping');
	clock.advance(100);
	ws.serverSend({ type: 'pong', timestamp: ws.sent[0].timestamp });
	assert.equal(s.status.rttMs, 100);
	assert.equal(messages.length, 0, 'pongs are not handed to the page');
	clock.advance(DEFAULTS.pingIntervalMs + DEFAULTS.pongTimeoutMs);
	assert.equal(ws.sent.length, 2);
	assert.equal(s.state, STATE.RECONNECTING, 'the second ping went unanswered');
	assert.ok(ws.closed);
	assert.ok(logs.some((l) => /no pong/.test(l)));
	clock.advance(s.status.nextAttemptAt - clock.now());
	assert.equal(instances.length, 2);
});

test('late events from a dropped socket are ignored', () => {
	const { env, clock, instances } = makeEnv();
	const { s, messages } = socket(env);
	s.start();
	const old = instances[0];
	const onmessage = (old.onopen(), old.onmessage);
	const onclose = old.onclose;
	s.reconnectNow();
	onmessage({ data: '{"type":"queue_update","seq":1}' });
	onclose({});
	assert.equal(messages.length, 0);
	assert.equal(s.state, STATE.CONNECTING);
	assert.deepEqual(clock.pending(), [DEFAULTS.connectTimeoutMs]);
});

test('hidden: closes after the grace period and stops retrying; visible: reconnects at once', async () => {
	const { env, clock, instances, document } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false });
	client.subscribe('queue', () => {});
	await client.start();
	const ws = instances[0];
	ws.serverOpen();
	document.setVisibility('hidden');
	clock.advance(DEFAULTS.hiddenGraceMs - 1);
	assert.equal(ws.closed, false, 'still open within the grace period');
	clock.advance(1);
	assert.equal(ws.closed, true);
	assert.equal(client.connections()[0].state, STATE.PAUSED);
	assert.deepEqual(clock.pending(), [], 'no retry while hidden');
	clock.advance(10 * 60 * 1000);
	assert.equal(instances.length, 1);

	document.setVisibility('visible');
	assert.equal(instances.length, 2, 'reconnects at once');
	assert.equal(client.connections()[0].state, STATE.CONNECTING);
	instances[1].serverOpen();
	assert.equal(client.connections()[0].state, STATE.LIVE);
	client.stop();
});

test('hidden then visible within the grace period keeps the socket', async () => {
	const { env, clock, instances, document } = makeEnv();
	const client = new TacwsClient({
		url: 'ws://127.0.0.1:1',
		env,
		multiplex: false,
		options: { pingIntervalMs: 1e9 },
	});
	client.subscribe('queue', () => {});
	await client.start();
	instances[0].serverOpen();
	document.setVisibility('hidden');
	clock.advance(1000);
	document.setVisibility('visible');
	clock.advance(DEFAULTS.hiddenGraceMs * 2);
	assert.equal(instances.length, 1);
	assert.equal(instances[0].closed, false);
	assert.equal(client.connections()[0].state, STATE.LIVE);
	client.stop();
});

test('visible wakes a socket that had given up; online wakes one that waits', async () => {
	const { env, clock, instances, document, window } = makeEnv();
	const client = new TacwsClient({
		url: 'ws://127.0.0.1:1',
		env,
		multiplex: false,
		options: { maxAttempts: 1 },
	});
	client.subscribe('queue', () => {});
	await client.start();
	instances[0].serverClose();
	clock.advance(60000);
	instances[1].serverClose();
	assert.equal(client.connections()[0].state, STATE.OFFLINE);
	document.setVisibility('visible');
	assert.equal(instances.length, 3);

	instances[2].serverClose();
	assert.equal(client.connections()[0].state, STATE.RECONNECTING);
	window.dispatchEvent(new Event('online'));
	assert.equal(instances.length, 4, 'online reconnects without waiting');
	client.stop();
});

test('a page that starts hidden suspends after the grace period', async () => {
	const { env, clock, instances, document } = makeEnv();
	document.visibilityState = 'hidden';
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false });
	client.subscribe('queue', () => {});
	await client.start();
	clock.advance(DEFAULTS.hiddenGraceMs);
	assert.ok(instances[0].closed);
	assert.equal(client.connections()[0].state, STATE.PAUSED);
	client.stop();
});

test('one socket per topic; snapshots flagged; seq gaps logged', async () => {
	const { env, clock, instances, logs } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:8003/', env, token: 'a b' });
	const got = [];
	client.subscribe('queue', (m, meta) => got.push([m.seq, meta.snapshot, meta.gap]));
	client.subscribe('adw-state/77c90e61', () => {});
	await client.start();
	assert.equal(client.multiplex, false, 'no fetch means no multiplex');
	assert.deepEqual(
		instances.map((w) => w.url),
		[
			'ws://127.0.0.1:8003/api/v1/ws/queue?token=a%20b',
			'ws://127.0.0.1:8003/api/v1/ws/adw-state/77c90e61?token=a%20b',
		],
	);
	const ws = instances[0];
	ws.serverOpen();
	ws.serverSend({ type: 'queue_update', data: {}, seq: 5 });
	ws.serverSend({ type: 'queue_update', data: {}, seq: 6 });
	ws.serverSend({ type: 'queue_update', data: {}, seq: 9 });
	assert.deepEqual(got, [
		[5, true, null],
		[6, false, null],
		[9, false, { expected: 7, got: 9 }],
	]);
	assert.equal(client.gaps, 1);
	assert.ok(logs.some((l) => /queue: seq gap, expected 7, got 9/.test(l)));

	ws.serverClose();
	clock.advance(1000);
	instances[2].serverOpen();
	instances[2].serverSend({ type: 'queue_update', data: {}, seq: 12 });
	assert.deepEqual(
		got.at(-1),
		[12, true, { expected: 10, got: 12 }],
		'after a reconnect the snapshot replaces the data',
	);
	instances[2].serverSend({ type: 'queue_update', data: {}, seq: 13 });
	assert.deepEqual(got.at(-1), [13, false, null]);
	client.stop();
});

test('a restarted server (seq back to 1) is not a gap', async () => {
	const { env, instances } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false });
	const got = [];
	client.subscribe('queue', (m, meta) => got.push(meta));
	await client.start();
	instances[0].serverOpen();
	instances[0].serverSend({ type: 'queue_update', seq: 40 });
	instances[0].serverClose();
	client.reconnectNow();
	instances.at(-1).serverOpen();
	instances.at(-1).serverSend({ type: 'queue_update', seq: 1 });
	assert.equal(got.at(-1).snapshot, true);
	assert.equal(got.at(-1).gap, null);
	client.stop();
});

test('unsubscribing the last handler closes that topic socket', async () => {
	const { env, instances } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false });
	await client.start();
	const off = client.subscribe('adw-state/abc', () => {});
	assert.equal(instances.length, 1, 'subscribing after start opens a socket');
	off();
	assert.ok(instances[0].closed);
	assert.equal(client.connections().length, 0);
	client.stop();
});

test('multiplex: detected from /feeds, one socket, subscribe, routing by type', async () => {
	const { env, instances } = makeEnv();
	const asked = [];
	env.fetch = async (url, init) => {
		asked.push([url, init.headers.Authorization]);
		return { ok: true, json: async () => ({ multiplex: true, feeds: [] }) };
	};
	const client = new TacwsClient({ url: 'ws://127.0.0.1:8003', env, token: 't' });
	const got = [];
	client.subscribe('queue', (m, meta) => got.push(['queue', m.seq, meta.snapshot]));
	client.subscribe('adw-state/aa', (m) => got.push(['aa', m.seq]));
	client.subscribe('adw-state/bb', (m) => got.push(['bb', m.seq]));
	await client.start();
	assert.deepEqual(asked, [['http://127.0.0.1:8003/api/v1/feeds', 'Bearer t']]);
	assert.equal(client.multiplex, true);
	assert.equal(instances.length, 1);
	assert.equal(instances[0].url, 'ws://127.0.0.1:8003/api/v1/ws?token=t');
	instances[0].serverOpen();
	assert.deepEqual(instances[0].sent[0], {
		type: 'subscribe',
		feeds: ['queue', 'adw-state/aa', 'adw-state/bb'],
	});
	instances[0].serverSend({ type: 'queue_update', seq: 3 });
	instances[0].serverSend({ type: 'adw_state_update', adw_id: 'bb', seq: 7 });
	instances[0].serverSend({ type: 'routes_update', seq: 1 });
	instances[0].serverSend({ feed: 'adw-state/aa', type: 'adw_state_update', seq: 2 });
	assert.deepEqual(got, [
		['queue', 3, true],
		['bb', 7],
		['aa', 2],
	]);

	const off = client.subscribe('routes', () => {});
	assert.deepEqual(instances[0].sent.at(-1), { type: 'subscribe', feeds: ['routes'] });
	off();
	assert.deepEqual(instances[0].sent.at(-1), { type: 'unsubscribe', feeds: ['routes'] });
	client.stop();
});

test('multiplex detection falls back to one socket per feed on any failure', async () => {
	for (const fetch of [
		async () => {
			throw new Error('refused');
		},
		async () => ({ ok: false, json: async () => ({}) }),
		async () => ({ ok: true, json: async () => ({ feeds: [] }) }),
		async () => ({
			ok: true,
			json: async () => {
				throw new SyntaxError('x');
			},
		}),
	]) {
		const { env, instances } = makeEnv();
		env.fetch = fetch;
		const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env });
		client.subscribe('queue', () => {});
		client.subscribe('routes', () => {});
		await client.start();
		assert.equal(client.multiplex, false);
		assert.equal(instances.length, 2);
		client.stop();
	}
});

test('topics added while multiplex detection is pending share the one socket', async () => {
	const { env, instances } = makeEnv();
	let answer;
	env.fetch = () =>
		new Promise((resolve) => {
			answer = () =>
				resolve({ ok: true, json: async () => ({ multiplex: true }) });
		});
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env });
	client.subscribe('queue', () => {});
	const started = client.start();
	client.subscribe('routes', () => {});
	assert.equal(instances.length, 0, 'nothing opens before the answer');
	answer();
	await started;
	assert.equal(instances.length, 1);
	instances[0].serverOpen();
	assert.deepEqual(instances[0].sent[0], { type: 'subscribe', feeds: ['queue', 'routes'] });
	client.stop();
});

test('stop() during multiplex detection opens nothing', async () => {
	const { env, instances } = makeEnv();
	let answer;
	env.fetch = () =>
		new Promise((resolve) => {
			answer = () =>
				resolve({ ok: true, json: async () => ({ multiplex: false }) });
		});
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env });
	client.subscribe('queue', () => {});
	const started = client.start();
	client.stop();
	answer();
	await started;
	assert.equal(instances.length, 0);
});

// ---- deltas (RFC 6902 JSON Patch) ----

function historyState(n) {
	const workflows = [];
	for (let i = 0; i < n; i++) workflows.push({ adw_id: `a${i}`, status: 'running', n: i });
	return { workflows, total_count: n, analytics: { ok: true } };
}

test('applyJsonPatch: RFC 6902 operations, escapes, and no change to the input', () => {
	const doc = { 'a/b': 1, 'm~n': [1, 2, 3], o: { k: 'v' } };
	const frozen = JSON.stringify(doc);
	const out = applyJsonPatch(doc, [
		{ op: 'replace', path: '/a~1b', value: 2 },
		{ op: 'move', from: '/m~0n/0', path: '/m~0n/-' },
		{ op: 'add', path: '/m~0n/1', value: 9 },
		{ op: 'copy', from: '/o', path: '/p' },
		{ op: 'add', path: '/p/k2', value: null },
		{ op: 'remove', path: '/o/k' },
		{ op: 'test', path: '/p', value: { k: 'v', k2: null } },
		{ op: 'add', path: '/__proto__', value: { polluted: true } },
	]);
	assert.equal(JSON.stringify(doc), frozen, 'the input is not modified');
	assert.deepEqual(JSON.parse(JSON.stringify(out)), {
		'a/b': 2,
		'm~n': [2, 9, 3, 1],
		o: {},
		p: { k: 'v', k2: null },
		['__proto__']: { polluted: true },
	});
	assert.equal({}.polluted, undefined);
	assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: [7] }]), [7]);
	for (const bad of [
		[{ op: 'remove', path: '/nope' }],
		[{ op: 'replace', path: '/nope', value: 1 }],
		[{ op: 'add', path: '/m~0n/01', value: 1 }],
		[{ op: 'add', path: '/m~0n/4', value: 1 }],
		[{ op: 'add', path: '/x/y', value: 1 }],
		[{ op: 'add', path: '/~2', value: 1 }],
		[{ op: 'add', path: 'a', value: 1 }],
		[{ op: 'add', path: '/a' }],
		[{ op: 'test', path: '/o/k', value: 'w' }],
		[{ op: 'move', from: '/o', path: '/o/x' }],
		[{ op: 'frob', path: '/o' }],
		{ op: 'remove', path: '/o' },
	])
		assert.throws(() => applyJsonPatch(doc, bad), undefined, JSON.stringify(bad));
});

test('delta: applied to the held state, the handler gets the whole new state', async () => {
	const { env, instances } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false, delta: true });
	const got = [];
	client.subscribe('workflow-history', (m, meta) => got.push([m, meta]));
	await client.start();
	assert.equal(instances[0].url, 'ws://127.0.0.1:1/api/v1/ws/workflow-history?delta=json-patch');
	const ws = instances[0];
	ws.serverOpen();
	ws.serverSend({ type: 'workflow_history_update', data: historyState(50), seq: 41 });
	ws.serverSend({
		type: 'workflow_history_update',
		delta: [{ op: 'replace', path: '/workflows/7/status', value: 'completed' }],
		base_seq: 41,
		seq: 42,
		timestamp: 'T',
	});
	assert.equal(got.length, 2);
	const [first, second] = [got[0][0].data, got[1][0].data];
	const want = historyState(50);
	want.workflows[7].status = 'completed';
	assert.deepEqual(second, want);
	assert.deepEqual(got[1][0], { type: 'workflow_history_update', seq: 42, timestamp: 'T', data: want });
	assert.deepEqual(got[1][1], { topic: 'workflow-history', snapshot: false, gap: null });
	assert.equal(first.workflows[7].status, 'running', 'the previous state is untouched');
	assert.equal(second.workflows[6], first.workflows[6], 'unchanged rows are shared');
	assert.notEqual(second.workflows[7], first.workflows[7]);
	assert.equal(client.deltaMisses, 0);
	client.stop();
});

test('delta: a base mismatch is never applied; the client asks for a snapshot', async () => {
	const { env, instances, logs } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false, delta: true });
	const got = [];
	client.subscribe('queue', (m, meta) => got.push([m, meta]));
	await client.start();
	instances[0].serverOpen();
	instances[0].serverSend({ type: 'queue_update', data: { phases: [{ queue_id: 'q1' }] }, seq: 41 });
	const delta = (base, seq, value) => ({
		type: 'queue_update',
		delta: [{ op: 'add', path: '/phases/-', value }],
		base_seq: base,
		seq,
	});
	instances[0].serverSend(delta(40, 42, { queue_id: 'wrong' }));
	assert.equal(got.length, 1, 'not applied, not delivered');
	assert.equal(client.deltaMisses, 1);
	assert.ok(logs.some((l) => /queue: delta not applied \(base_seq 40, last seq 41\)/.test(l)));
	assert.equal(instances.length, 2, 'per-feed socket reopened for a snapshot');
	assert.ok(instances[0].closed);
	instances[1].serverOpen();
	instances[1].serverSend(delta(41, 42, { queue_id: 'q2' }));
	assert.equal(got.length, 1, 'no state to apply to until the snapshot');
	assert.equal(instances.length, 2, 'the snapshot was asked for once');
	instances[1].serverSend({ type: 'queue_update', data: { phases: [] }, seq: 43 });
	instances[1].serverSend(delta(43, 44, { queue_id: 'q3' }));
	assert.deepEqual(
		got.map(([m, meta]) => [m.seq, meta.snapshot, m.data]),
		[
			[41, true, { phases: [{ queue_id: 'q1' }] }],
			[43, true, { phases: [] }],
			[44, false, { phases: [{ queue_id: 'q3' }] }],
		],
	);
	// A patch that does not apply to the state is a miss too.
	instances[1].serverSend({ type: 'queue_update', delta: [{ op: 'remove', path: '/nope' }], base_seq: 44, seq: 45 });
	assert.equal(got.length, 3);
	assert.equal(client.deltaMisses, 3);
	client.stop();
});

test('delta on the multiplexed socket: object subscriptions, resubscribe on a mismatch', async () => {
	const { env, instances } = makeEnv();
	env.fetch = async () => ({ ok: true, json: async () => ({ multiplex: true }) });
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, delta: true });
	const got = [];
	client.subscribe('queue', (m) => got.push(m.data));
	await client.start();
	const ws = instances[0];
	assert.equal(ws.url, 'ws://127.0.0.1:1/api/v1/ws');
	ws.serverOpen();
	assert.deepEqual(ws.sent, [{ type: 'subscribe', feeds: [{ topic: 'queue', delta: 'json-patch' }] }]);
	ws.serverSend({ type: 'queue_update', data: { phases: [] }, seq: 3 });
	// An event published to the feed is not the feed's state.
	ws.serverSend({ type: 'workflow_update', feed: 'queue', data: { x: 1 }, seq: 3 });
	ws.serverSend({ type: 'queue_update', delta: [{ op: 'add', path: '/total', value: 1 }], base_seq: 3, seq: 4 });
	assert.deepEqual(got.at(-1), { phases: [], total: 1 });
	ws.serverSend({ type: 'queue_update', delta: [], base_seq: 9, seq: 10 });
	assert.deepEqual(ws.sent.slice(1), [
		{ type: 'unsubscribe', feeds: ['queue'] },
		{ type: 'subscribe', feeds: [{ topic: 'queue', delta: 'json-patch' }] },
	]);
	assert.equal(got.length, 3);
	client.stop();
});

test('delta: patches from tacwsd\'s differ (core/delta.c) on real adw-monitor changes apply exactly', () => {
	// Consecutive changes from the demo, as `delta-stats --emit` wrote them: each delta's base
	// is the previous line's full message. They include add, remove, move and replace.
	const url = new URL('./fixtures/adw-monitor-changes.jsonl', import.meta.url);
	const lines = fs.readFileSync(url, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
	assert.ok(lines.length >= 3);
	const ops = new Set();
	for (let i = 1; i < lines.length; i++) {
		const base = JSON.parse(lines[i - 1].full).data;
		const msg = JSON.parse(lines[i].delta);
		for (const op of msg.delta) ops.add(op.op);
		const got = applyJsonPatch(base, msg.delta);
		assert.equal(JSON.stringify(got), JSON.stringify(JSON.parse(lines[i].full).data), `change ${i}`);
	}
	assert.deepEqual([...ops].sort(), ['add', 'move', 'remove', 'replace']);
});

test('resume: after a reconnect the multiplexed socket sends since and epoch; resumed keeps the state', async () => {
	const { env, instances } = makeEnv();
	env.fetch = async () => ({ ok: true, json: async () => ({ multiplex: true }) });
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, delta: true });
	const got = [];
	client.subscribe('queue', (m, meta) => got.push([m, meta]));
	await client.start();
	instances[0].serverOpen();
	assert.deepEqual(instances[0].sent, [{ type: 'subscribe', feeds: [{ topic: 'queue', delta: 'json-patch' }] }]);
	instances[0].serverSend({ type: 'queue_update', data: { phases: [] }, seq: 7, epoch: 'E1' });
	instances[0].serverClose();
	client.reconnectNow();
	const ws = instances.at(-1);
	assert.notEqual(ws, instances[0]);
	ws.serverOpen();
	assert.deepEqual(ws.sent, [
		{ type: 'subscribe', feeds: [{ topic: 'queue', delta: 'json-patch', since: 7, epoch: 'E1' }] },
	]);
	ws.serverSend({ type: 'resumed', topic: 'queue', seq: 7, epoch: 'E1', recovered: true });
	assert.equal(got.length, 1, 'resumed delivers nothing');
	assert.equal(client.resumes, 1);
	// the next delta applies to the state held from before the reconnect
	ws.serverSend({ type: 'queue_update', delta: [{ op: 'add', path: '/total', value: 1 }], base_seq: 7, seq: 8 });
	assert.deepEqual(got.at(-1)[0].data, { phases: [], total: 1 });
	assert.deepEqual(got.at(-1)[1], { topic: 'queue', snapshot: false, gap: null });
	assert.equal(client.deltaMisses, 0);
	client.stop();
});

test('resume: the last event offset of the epoch goes with since and epoch; a new epoch drops it', async () => {
	const { env, instances } = makeEnv();
	env.fetch = async () => ({ ok: true, json: async () => ({ multiplex: true }) });
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env });
	client.subscribe('queue', () => {});
	await client.start();
	instances[0].serverOpen();
	instances[0].serverSend({ type: 'queue_update', data: { phases: [] }, seq: 7, epoch: 'E1' });
	// an event (routed by its type on the multiplexed socket) carries its offset
	instances[0].serverSend({ type: 'queue_update', data: { phases: [] }, seq: 7, epoch: 'E1', offset: 3 });
	instances[0].serverClose();
	client.reconnectNow();
	let ws = instances.at(-1);
	ws.serverOpen();
	assert.deepEqual(ws.sent, [
		{ type: 'subscribe', feeds: [{ topic: 'queue', since: 7, epoch: 'E1', offset: 3 }] },
	]);
	ws.serverSend({ type: 'resumed', topic: 'queue', seq: 7, epoch: 'E2', recovered: false });
	ws.serverSend({ type: 'queue_update', data: { phases: [] }, seq: 1, epoch: 'E2' });
	ws.serverClose();
	client.reconnectNow();
	ws = instances.at(-1);
	ws.serverOpen();
	assert.deepEqual(ws.sent, [{ type: 'subscribe', feeds: [{ topic: 'queue', since: 1, epoch: 'E2' }] }]);
	client.stop();
});

test('resume: a per-feed socket sends the last event offset of its epoch as ?offset=', async () => {
	const { env, instances } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false });
	client.subscribe('queue', () => {});
	await client.start();
	instances[0].serverOpen();
	instances[0].serverSend({ type: 'queue_update', data: { phases: [] }, seq: 3, epoch: 'E1' });
	instances[0].serverSend({ type: 'alert', data: {}, seq: 3, epoch: 'E1', offset: 9 });
	instances[0].serverClose();
	client.reconnectNow();
	const ws = instances.at(-1);
	assert.equal(ws.url, 'ws://127.0.0.1:1/api/v1/ws/queue?since=3&epoch=E1&offset=9');
	client.stop();
});

test('resume: a per-feed socket reconnects with ?since=&epoch=; recovered false is no resume', async () => {
	const { env, instances } = makeEnv();
	const client = new TacwsClient({ url: 'ws://127.0.0.1:1', env, multiplex: false });
	const got = [];
	client.subscribe('queue', (m, meta) => got.push([m, meta]));
	await client.start();
	assert.equal(instances[0].url, 'ws://127.0.0.1:1/api/v1/ws/queue');
	instances[0].serverOpen();
	instances[0].serverSend({ type: 'queue_update', data: { phases: [] }, seq: 3, epoch: 'a-b_c' });
	instances[0].serverClose();
	client.reconnectNow();
	const ws = instances.at(-1);
	assert.equal(ws.url, 'ws://127.0.0.1:1/api/v1/ws/queue?since=3&epoch=a-b_c');
	ws.serverOpen();
	ws.serverSend({ type: 'resumed', topic: 'queue', seq: 5, epoch: 'NEW', recovered: false });
	assert.equal(client.resumes, 0);
	ws.serverSend({ type: 'queue_update', data: { phases: [1] }, seq: 5, epoch: 'NEW' });
	assert.deepEqual(got.at(-1)[1].snapshot, true, 'the snapshot replaces the state');
	client.stop();
});
