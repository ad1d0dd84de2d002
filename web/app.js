// The dashboard: subscribes to every feed through TacwsClient and hands each snapshot to its
// panel renderer. Page URL options: ?token=T (ws_token), ?server=host:port, ?prefix=/api/v1,
// ?multiplex=true|false, ?adw=<adw_id>, ?grace=<ms before a hidden page disconnects>.
import { TacwsClient, STATE } from './tacws-client.js';
import { el, setText, setAttr, setClass, reconcile, fmtTime } from './dom.js';
import {
	pickCurrent,
	renderCurrent,
	renderMonitor,
	renderQueue,
	renderHistory,
	renderRoutes,
	renderSystem,
	renderWebhook,
	renderWorkflows,
	renderAdwState,
	renderPlanned,
	renderQuality,
} from './panels.js';

const params = new URLSearchParams(location.search);
const prefix =
	params.get('prefix') ||
	document.querySelector('meta[name="tacws-api-prefix"]')?.content ||
	'/api/v1';
const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
const options = {};
if (params.get('grace')) options.hiddenGraceMs = Number(params.get('grace'));
const multiplex = params.get('multiplex');

const client = new TacwsClient({
	url: `${scheme}//${params.get('server') || location.host}`,
	apiPrefix: prefix,
	token: params.get('token') || '',
	multiplex: multiplex === null ? 'auto' : multiplex === 'true',
	delta: true, // JSON Patch deltas: one row changing travels as one small operation
	options,
});

const $ = (sel) => document.querySelector(sel);
const body = (id) => $(`#panel-${id} .body`);
const state = { monitor: null, workflows: [], adw: params.get('adw') || '' };

// "updated 10:31:00 · seq 42" in a panel's title; a gap is shown until the next snapshot.
function stamp(panelId, msg, meta) {
	const node = $(`#panel-${panelId} .meta`);
	const when = fmtTime(msg.timestamp || new Date().toISOString());
	const seq = msg.seq ?? '—';
	let text = `updated ${when} · seq ${seq}`;
	if (meta.gap) text += ` (missed ${meta.gap.got - meta.gap.expected})`;
	setText(node, text);
	setAttr(node, 'data-seq', msg.seq ?? '');
	setClass(node, 'gap', Boolean(meta.gap) && !meta.snapshot);
}

// Events published to a feed (e.g. workflow_update on workflows) carry another type: they
// are not snapshots, and the feed's next snapshot follows them.
function feed(topic, type, panels, render) {
	client.subscribe(topic, (msg, meta) => {
		if (msg.type !== type) return;
		for (const id of panels) stamp(id, msg, meta);
		render(msg.data);
	});
}

feed('adw-monitor', 'adw_monitor_update', ['monitor', 'current'], (data) => {
	state.monitor = data;
	renderMonitor(body('monitor'), data);
	renderCurrent(body('current'), data);
	updatePicker();
});
feed('queue', 'queue_update', ['queue'], (data) => renderQueue(body('queue'), data));
feed('workflow-history', 'workflow_history_update', ['history'], (data) =>
	renderHistory(body('history'), data),
);
feed('routes', 'routes_update', ['routes'], (data) => renderRoutes(body('routes'), data));
feed('system-status', 'system_status_update', ['system'], (data) =>
	renderSystem(body('system'), data),
);
feed('webhook-status', 'webhook_status_update', ['webhook'], (data) =>
	renderWebhook(body('webhook'), data),
);
feed('planned-features', 'planned_features_update', ['planned'], (data) =>
	renderPlanned(body('planned'), data),
);
feed('qc-metrics', 'qc_metrics_update', ['quality'], (data) =>
	renderQuality(body('quality'), data),
);
feed('workflows', 'workflows_update', ['workflows'], (data) => {
	state.workflows = Array.isArray(data) ? data : [];
	renderWorkflows(body('workflows'), state.workflows, pick, state.adw);
	updatePicker();
});

let adwOff = null;
function pick(adwId) {
	if (adwId === state.adw && adwOff) return;
	adwOff?.();
	adwOff = null;
	state.adw = adwId;
	$('#adw-pick').value = adwId;
	const b = body('adw-state');
	b._parts = null;
	setText(b, adwId ? 'waiting for data…' : 'choose a workflow');
	setText($('#panel-adw-state .meta'), '');
	renderWorkflows(body('workflows'), state.workflows, pick, state.adw);
	if (!adwId) return;
	adwOff = client.subscribe(`adw-state/${adwId}`, (msg, meta) => {
		if (msg.type !== 'adw_state_update') return;
		stamp('adw-state', msg, meta);
		renderAdwState(b, msg.data);
	});
}

function updatePicker() {
	const ids = new Map();
	for (const w of state.monitor?.workflows || [])
		ids.set(
			w.adw_id,
			`${w.adw_id} · ${w.status}${w.issue_number ? ` · #${w.issue_number}` : ''}`,
		);
	for (const w of state.workflows)
		if (!ids.has(w.adw_id))
			ids.set(
				w.adw_id,
				`${w.adw_id}${w.issue_number ? ` · #${w.issue_number}` : ''}`,
			);
	const select = $('#adw-pick');
	const options = [['', 'choose a workflow'], ...ids];
	reconcile(
		select,
		options,
		([k]) => k,
		([k]) => el('option', { value: k }),
		(o, [, label]) => setText(o, label),
	);
	if (select.value !== state.adw) select.value = state.adw;
	if (!state.adw) {
		const current = pickCurrent(state.monitor?.workflows);
		const first = current?.adw_id || state.workflows[0]?.adw_id;
		if (first) pick(first);
	}
}
$('#adw-pick').addEventListener('change', (e) => pick(e.target.value));

// Connection indicators: one per socket, with the retry countdown and a quality hint from
// the time since the socket last heard anything (pongs included, so a quiet feed stays good).
function describe(c, now) {
	switch (c.state) {
		case STATE.LIVE: {
			const idle = (now - (c.lastMessageAt ?? now)) / 1000;
			const q = idle < 35 ? 'good' : idle < 60 ? 'slow' : 'stale';
			const rtt = c.rttMs !== null ? `, ${c.rttMs} ms` : '';
			return ['live', `${q}, last ${Math.round(idle)} s ago${rtt}`];
		}
		case STATE.RECONNECTING: {
			const wait = c.nextAttemptAt
				? Math.max(0, Math.ceil((c.nextAttemptAt - now) / 1000))
				: 0;
			return [
				'reconnecting',
				`${wait ? `in ${wait} s` : 'now'}, try ${c.attempt}/${c.maxAttempts}`,
			];
		}
		case STATE.CONNECTING:
			return ['connecting', ''];
		case STATE.PAUSED:
			return ['offline', 'page hidden'];
		case STATE.OFFLINE:
			return ['offline', `gave up after ${c.maxAttempts} tries`];
		default:
			return [c.state, ''];
	}
}

function drawConnections() {
	const now = Date.now();
	const list = client.connections();
	reconcile(
		$('#connections'),
		list,
		(c) => c.label,
		() =>
			el(
				'li',
				{},
				el('span', { class: 'dot' }),
				el('b'),
				el('span', { class: 's' }),
				el('span', { class: 'q' }),
			),
		(li, c) => {
			const [word, hint] = describe(c, now);
			li.children[0].className = `dot ${c.state}`;
			setText(li.children[1], c.label);
			setText(li.children[2], word);
			setText(li.children[3], hint);
			setAttr(li, 'data-state', word);
			setAttr(li, 'title', c.url.replace(/token=[^&]*/, 'token=…'));
		},
	);
	setText($('#mode'), client.multiplex ? 'one multiplexed socket' : `${list.length} sockets`);
}

client.onStatus(drawConnections);
setInterval(drawConnections, 1000);
$('#reconnect').addEventListener('click', () => client.reconnectNow());

if (state.adw) pick(state.adw);
client.start().then(drawConnections);
window.tacws = { client };
