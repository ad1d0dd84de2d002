// One renderer per panel. Each takes the panel's body element and the feed's latest `data`
// (DESIGN §3) and updates the body in place; the first call builds the skeleton.
import {
	el,
	setText,
	setAttr,
	setClass,
	reconcile,
	row,
	fmtTime,
	fmtDateTime,
	fmtDuration,
	fmtUsd,
	fmtNum,
} from './dom.js';

export const PHASES = [
	'plan',
	'validate',
	'build',
	'lint',
	'test',
	'review',
	'document',
	'ship',
	'cleanup',
];

function skeleton(body, build) {
	if (!body._parts) {
		body.textContent = '';
		body._parts = build();
	}
	return body._parts;
}

function table(headers) {
	const tbody = el('tbody');
	const t = el(
		'table',
		{},
		el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
		tbody,
	);
	return { table: t, tbody };
}

function badge(node, status) {
	const s = String(status || 'unknown').toLowerCase();
	setText(node, s);
	const cls = `badge st-${s.replace(/[^a-z_-]/g, '')}`;
	if (node.className !== cls) node.className = cls;
}

function link(node, href, text) {
	setText(node, text);
	setAttr(node, 'href', href || null);
}

function issue(n) {
	return n === null || n === undefined || n === '' ? '' : `#${n}`;
}

function empty(body, text) {
	body._parts = null;
	setText(body, text);
}

// The current workflow: failed first (it needs a human), else running, else paused.
export function pickCurrent(workflows) {
	for (const status of ['failed', 'running', 'paused']) {
		const w = (workflows || []).find((x) => x.status === status);
		if (w) return w;
	}
	return null;
}

// TAC's monitor names the document phase "doc"; its ADWs log "Document".
function phaseKey(p) {
	const s = String(p || '').toLowerCase();
	return s === 'doc' ? 'document' : s;
}

// How many phases are done: TAC sends the list of their names (older tacws a count).
function doneCount(w) {
	const done = w.phases_completed;
	return Array.isArray(done) ? done.length : Number(done) || 0;
}

function phaseState(w, phase, i) {
	const done = w.phases_completed;
	if (Array.isArray(done)) {
		if (done.some((p) => phaseKey(p) === phase)) return 'done';
	} else if (typeof done === 'number' && i < done) {
		return 'done';
	}
	if (phaseKey(w.current_phase) === phase)
		return w.status === 'failed' ? 'failed' : 'current';
	// A failed run without a current phase failed in the first phase it did not complete.
	if (!w.current_phase && w.status === 'failed') {
		const first = PHASES.findIndex((p, k) => phaseState({ ...w, status: '' }, p, k) === 'todo');
		if (i === first) return 'failed';
	}
	return 'todo';
}

function progressCell() {
	const fill = el('div', { class: 'fill' });
	const chips = el('div', { class: 'chips' }, ...PHASES.map((p) => el('span', { title: p })));
	return el('div', { class: 'progress' }, el('div', { class: 'bar' }, fill), chips);
}

function updateProgress(cell, w) {
	const pct = Math.max(0, Math.min(100, Number(w.phase_progress) || 0));
	const fill = cell.querySelector('.fill');
	const width = `${pct.toFixed(1)}%`;
	if (fill.style.width !== width) fill.style.width = width;
	setAttr(cell, 'title', `${pct.toFixed(0)}%`);
	const chips = cell.querySelector('.chips').children;
	PHASES.forEach((p, i) => {
		const cls = `chip ${phaseState(w, p, i)}`;
		if (chips[i].className !== cls) chips[i].className = cls;
	});
}

export function renderCurrent(body, monitor) {
	const w = pickCurrent(monitor && monitor.workflows);
	if (!w) {
		empty(body, 'No failed, running or paused workflow.');
		return;
	}
	const p = skeleton(body, () => {
		const parts = {
			status: el('span'),
			id: el('code'),
			issue: el('a', { target: '_blank', rel: 'noopener' }),
			title: el('div', { class: 'title' }),
			phase: el('span'),
			progress: progressCell(),
			cost: el('span'),
			duration: el('span'),
			error: el('div', { class: 'error' }),
		};
		body.append(
			el(
				'div',
				{ class: 'card' },
				el('div', { class: 'row' }, parts.status, parts.id, parts.issue),
				parts.title,
				parts.progress,
				el(
					'div',
					{ class: 'row small' },
					'phase ',
					parts.phase,
					' · cost ',
					parts.cost,
					' · ',
					parts.duration,
				),
				parts.error,
			),
		);
		return parts;
	});
	badge(p.status, w.status);
	setText(p.id, w.adw_id);
	link(p.issue, w.github_url, issue(w.issue_number));
	setText(p.title, w.title || '(no title)');
	setText(
		p.phase,
		w.current_phase || `${doneCount(w)} of ${w.total_phases ?? PHASES.length} done`,
	);
	updateProgress(p.progress, w);
	setText(p.cost, `${fmtUsd(w.current_cost)} of ${fmtUsd(w.estimated_cost_total)}`);
	setText(
		p.duration,
		w.duration_seconds === null || w.duration_seconds === undefined
			? `started ${fmtDateTime(w.start_time)}`
			: fmtDuration(w.duration_seconds),
	);
	setText(p.error, w.last_error ? `${w.error_count || 1} error(s): ${w.last_error}` : '');
}

export function renderMonitor(body, data) {
	const p = skeleton(body, () => {
		const summary = el('div', { class: 'figures' });
		const keys = ['total', 'running', 'completed', 'failed', 'paused', 'queued'];
		const figs = {};
		for (const k of keys) {
			figs[k] = el('b');
			summary.append(
				el('div', { class: `figure st-${k}` }, figs[k], el('span', {}, k)),
			);
		}
		const t = table([
			'status',
			'adw',
			'issue',
			'title',
			'phase',
			'progress',
			'cost',
			'errors',
		]);
		body.append(summary, el('div', { class: 'scroll' }, t.table));
		return { figs, tbody: t.tbody };
	});
	const s = (data && data.summary) || {};
	for (const [k, node] of Object.entries(p.figs)) setText(node, s[k] ?? 0);
	reconcile(
		p.tbody,
		(data && data.workflows) || [],
		(w) => w.adw_id,
		() => {
			const tr = row(8);
			tr.cells[0].append(el('span'));
			tr.cells[1].append(el('code'));
			tr.cells[2].append(el('a', { target: '_blank', rel: 'noopener' }));
			tr.cells[5].append(progressCell());
			tr.cells[3].className = 'title';
			return tr;
		},
		(tr, w) => {
			const c = tr.cells;
			badge(c[0].firstChild, w.status);
			setText(c[1].firstChild, w.adw_id);
			link(c[2].firstChild, w.github_url, issue(w.issue_number));
			setText(c[3], w.title);
			setAttr(c[3], 'title', w.title || null);
			setText(c[4], w.current_phase || '—');
			updateProgress(c[5].firstChild, w);
			setText(c[6], fmtUsd(w.current_cost));
			setText(c[7], w.error_count ? String(w.error_count) : '');
			setAttr(c[7], 'title', w.last_error || null);
		},
	);
}

export function renderQueue(body, data) {
	const p = skeleton(body, () => {
		const head = el('div', { class: 'row' });
		const total = el('span');
		const paused = el('span');
		head.append(total, paused);
		const t = table([
			'#',
			'feature',
			'phase',
			'issue',
			'status',
			'current',
			'adw',
			'depends',
			'PR',
			'error',
		]);
		body.append(head, el('div', { class: 'scroll' }, t.table));
		return { total, paused, tbody: t.tbody };
	});
	setText(p.total, `${data?.total ?? 0} phase(s)`);
	badge(p.paused, data?.paused ? 'paused' : 'processing');
	reconcile(
		p.tbody,
		data?.phases || [],
		(q) => q.queue_id,
		() => {
			const tr = row(10);
			tr.cells[4].append(el('span'));
			tr.cells[6].append(el('code'));
			return tr;
		},
		(tr, q) => {
			const c = tr.cells;
			setText(c[0], q.queue_position ?? '');
			setText(c[1], q.feature_id);
			setText(c[2], q.phase_number);
			setText(c[3], issue(q.issue_number));
			badge(c[4].firstChild, q.status);
			setText(c[5], q.current_phase || '');
			setText(c[6].firstChild, q.adw_id || '');
			setText(
				c[7],
				Array.isArray(q.depends_on_phases)
					? q.depends_on_phases.join(', ')
					: '',
			);
			setText(c[8], q.pr_number ? `#${q.pr_number}` : '');
			setText(c[9], q.error_message || '');
		},
	);
}

function countList(node, obj) {
	reconcile(
		node,
		Object.entries(obj || {}).sort((a, b) => b[1] - a[1]),
		(e) => e[0],
		() => el('li', {}, el('span'), el('b')),
		(li, [k, v]) => {
			setText(li.children[0], k || '(none)');
			setText(li.children[1], v);
		},
	);
}

function figures(specs) {
	const box = el('div', { class: 'figures' });
	const figs = {};
	for (const [k, label] of specs) {
		figs[k] = el('b');
		box.append(el('div', { class: 'figure' }, figs[k], el('span', {}, label)));
	}
	return { box, figs };
}

// Titled count lists side by side: {key: title} -> {lists: {key: ul}, breakdown}.
function countLists(titles) {
	const lists = {};
	const boxes = Object.entries(titles).map(([k, title]) => {
		lists[k] = el('ul', { class: 'counts' });
		return el('div', {}, el('h3', {}, title), lists[k]);
	});
	return { lists, breakdown: el('div', { class: 'breakdown' }, ...boxes) };
}

export function renderHistory(body, data) {
	const p = skeleton(body, () => {
		const { box, figs } = figures([
			['total_workflows', 'total'],
			['completed_workflows', 'completed'],
			['failed_workflows', 'failed'],
			['success_rate_percent', 'success'],
			['avg_duration_seconds', 'avg duration'],
			['avg_cost', 'avg cost'],
			['total_cost', 'total cost'],
		]);
		const { lists, breakdown } = countLists({
			workflows_by_status: 'by_status',
			workflows_by_model: 'by_model',
			workflows_by_template: 'by_template',
		});
		const t = table([
			'adw',
			'issue',
			'status',
			'template',
			'model',
			'duration',
			'cost',
			'created',
		]);
		const shown = el('div', { class: 'small' });
		body.append(box, breakdown, shown, el('div', { class: 'scroll' }, t.table));
		return { figs, lists, shown, tbody: t.tbody };
	});
	const a = data?.analytics || {};
	setText(p.figs.total_workflows, a.total_workflows ?? 0);
	setText(p.figs.completed_workflows, a.completed_workflows ?? 0);
	setText(p.figs.failed_workflows, a.failed_workflows ?? 0);
	setText(p.figs.success_rate_percent, `${fmtNum(a.success_rate_percent, 1)}%`);
	setText(p.figs.avg_duration_seconds, fmtDuration(a.avg_duration_seconds));
	setText(p.figs.avg_cost, fmtUsd(a.avg_cost));
	setText(p.figs.total_cost, fmtUsd(a.total_cost));
	for (const [k, ul] of Object.entries(p.lists)) countList(ul, a[k]);
	const rows = data?.workflows || [];
	setText(p.shown, `newest ${rows.length} of ${data?.total_count ?? rows.length}`);
	reconcile(
		p.tbody,
		rows,
		(w) => w.adw_id ?? w.id,
		() => {
			const tr = row(8);
			tr.cells[0].append(el('code'));
			tr.cells[2].append(el('span'));
			return tr;
		},
		(tr, w) => {
			const c = tr.cells;
			setText(c[0].firstChild, w.adw_id);
			setText(c[1], issue(w.issue_number));
			badge(c[2].firstChild, w.status);
			setText(c[3], w.workflow_template || '');
			setText(c[4], w.model_used || '');
			setText(c[5], fmtDuration(w.duration_seconds));
			setText(c[6], fmtUsd(w.actual_cost_total ?? w.estimated_cost_total));
			setText(c[7], fmtDateTime(w.created_at));
		},
	);
}

export function renderRoutes(body, data) {
	const p = skeleton(body, () => {
		const filter = el('input', {
			type: 'search',
			placeholder: 'filter routes',
			'aria-label': 'filter routes',
		});
		const count = el('span', { class: 'small' });
		const t = table(['method', 'path', 'name', 'summary', 'tags']);
		body.append(
			el('div', { class: 'row' }, filter, count),
			el('div', { class: 'scroll' }, t.table),
		);
		const parts = { filter, count, tbody: t.tbody, data: [] };
		filter.addEventListener('input', () => renderRoutes(body, parts.data));
		return parts;
	});
	p.data = Array.isArray(data) ? data : [];
	const q = p.filter.value.trim().toLowerCase();
	const rows = q
		? p.data.filter((r) =>
				`${r.method} ${r.path} ${r.name} ${r.summary}`
					.toLowerCase()
					.includes(q),
			)
		: p.data;
	setText(p.count, `${rows.length} of ${p.data.length}`);
	reconcile(
		p.tbody,
		rows,
		(r) => `${r.method} ${r.path}`,
		() => {
			const tr = row(5);
			tr.cells[0].append(el('span'));
			tr.cells[1].append(el('code'));
			return tr;
		},
		(tr, r) => {
			const c = tr.cells;
			setText(c[0].firstChild, r.method);
			c[0].firstChild.className = `method m-${String(r.method).toLowerCase()}`;
			setText(c[1].firstChild, r.path);
			setText(c[2], r.name || '');
			setText(c[3], r.summary || '');
			setAttr(c[3], 'title', r.description || null);
			setText(c[4], Array.isArray(r.tags) ? r.tags.join(', ') : '');
		},
	);
}

// The services TAC's health panel shows, in its order; other keys follow by name.
export const TAC_SERVICES = [
	'backend_api',
	'database',
	'webhook',
	'frontend',
	'cloudflare_tunnel',
	'github_webhook',
];

function serviceRank(key) {
	const i = TAC_SERVICES.indexOf(key);
	return i < 0 ? TAC_SERVICES.length : i;
}

export function renderSystem(body, data) {
	const p = skeleton(body, () => {
		const overall = el('span');
		const summary = el('span', { class: 'small' });
		const list = el('ul', { class: 'services' });
		body.append(el('div', { class: 'row' }, 'overall ', overall, summary), list);
		return { overall, summary, list };
	});
	badge(p.overall, data?.overall_status);
	const s = data?.summary || {};
	setText(
		p.summary,
		` ${s.healthy_services ?? 0}/${s.total_services ?? 0} healthy` +
			` (${fmtNum(s.health_percentage, 0)}%)`,
	);
	const services = Object.entries(data?.services || {}).sort(
		([a], [b]) => serviceRank(a) - serviceRank(b) || a.localeCompare(b),
	);
	reconcile(
		p.list,
		services,
		([k]) => k,
		() =>
			el(
				'li',
				{},
				el('span', { class: 'light' }),
				el('b'),
				el('span', { class: 'small' }),
				el('div', { class: 'small msg' }),
			),
		(li, [k, v]) => {
			const st = String(v.status || 'unknown');
			li.children[0].className = `light st-${st}`;
			setAttr(li.children[0], 'title', st);
			setAttr(li, 'data-service', k);
			setText(li.children[1], v.name || k);
			setText(
				li.children[2],
				v.uptime_human ? ` up ${v.uptime_human}` : ` ${st}`,
			);
			setText(li.children[3], v.message || '');
		},
	);
}

export function renderWebhook(body, data) {
	const p = skeleton(body, () => {
		const parts = {
			status: el('span'),
			uptime: el('span', { class: 'small' }),
			figs: {},
			last: el('div', { class: 'small' }),
			message: el('div', { class: 'error' }),
			failures: el('ul', { class: 'failures' }),
		};
		const figures = el('div', { class: 'figures' });
		for (const k of ['total_received', 'successful', 'failed', 'success_rate']) {
			parts.figs[k] = el('b');
			figures.append(
				el(
					'div',
					{ class: 'figure' },
					parts.figs[k],
					el('span', {}, k.replace('_', ' ')),
				),
			);
		}
		body.append(
			el('div', { class: 'row' }, parts.status, parts.uptime),
			figures,
			parts.last,
			parts.message,
			parts.failures,
		);
		return parts;
	});
	badge(p.status, data?.status);
	const up = data?.uptime;
	setText(
		p.uptime,
		up ? ` up ${up.human ?? fmtDuration(up.seconds ?? up.uptime_seconds)}` : '',
	);
	const st = data?.stats || {};
	for (const [k, node] of Object.entries(p.figs)) {
		const v = st[k];
		// TAC's trigger service sends the rate as text ("93.8%")
		const rate = typeof v === 'string' ? v : `${fmtNum(v, 1)}%`;
		setText(node, v === undefined || v === null ? '—' : k === 'success_rate' ? rate : v);
	}
	const last = data?.last_successful;
	setText(
		p.last,
		last && typeof last === 'object' && Object.keys(last).length
			? `last success: ${webhookLine(last)}`
			: 'no successful webhook yet',
	);
	setText(p.message, data?.message || '');
	// newest first; TAC keeps them oldest first
	const failures = [...(data?.recent_failures || [])].reverse().slice(0, 10);
	reconcile(
		p.failures,
		failures,
		(f) => JSON.stringify(f),
		() => el('li', { class: 'small' }),
		(li, f) => setText(li, typeof f === 'object' && f ? webhookLine(f) : String(f)),
	);
}

// "issue #188 · 2fb771a5 · adw_sdlc_iso · 16:24:27" from TAC's {issue, adw_id, workflow,
// timestamp} (a failure has error instead of adw_id and workflow).
function webhookLine(r) {
	const n = r.issue ?? r.issue_number;
	const parts = [];
	if (n !== undefined && n !== null) parts.push(`issue #${n}`);
	for (const k of ['adw_id', 'workflow', 'error']) if (r[k]) parts.push(String(r[k]));
	if (r.timestamp) parts.push(fmtDateTime(r.timestamp));
	return parts.join(' · ');
}

export function renderWorkflows(body, data, onPick, picked) {
	const p = skeleton(body, () => {
		const count = el('div', { class: 'small' });
		const t = table(['adw', 'issue', 'phase', '']);
		body.append(count, el('div', { class: 'scroll' }, t.table));
		return { count, tbody: t.tbody };
	});
	const rows = Array.isArray(data) ? data : [];
	setText(p.count, `${rows.length} workflow(s) in agents/`);
	reconcile(
		p.tbody,
		rows,
		(w) => w.adw_id,
		() => {
			const tr = row(4);
			const b = el('button', { class: 'link', type: 'button' });
			b.addEventListener('click', () => onPick(tr.dataset.key));
			tr.cells[0].append(b);
			tr.cells[1].append(el('a', { target: '_blank', rel: 'noopener' }));
			return tr;
		},
		(tr, w) => {
			const c = tr.cells;
			setText(c[0].firstChild, w.adw_id);
			setClass(tr, 'picked', w.adw_id === picked);
			link(c[1].firstChild, w.github_url, issue(w.issue_number));
			setText(c[2], w.phase);
		},
	);
}

// planned-features: {features: [PlannedFeature], stats: {by_status, by_priority, by_type,
// total_estimated_hours, total_actual_hours, completion_rate}}, as TAC's backend sends it.
export function renderPlanned(body, data) {
	const p = skeleton(body, () => {
		const f = figures([
			['total', 'items'],
			['planned', 'planned'],
			['in_progress', 'in progress'],
			['completed', 'completed'],
			['completion_rate', 'done'],
			['hours', 'hours est. / actual'],
		]);
		const { lists, breakdown } = countLists({ by_type: 'type', by_priority: 'priority' });
		const t = table(['id', 'type', 'title', 'status', 'priority', 'hours', 'issue', 'tags']);
		body.append(f.box, breakdown, el('div', { class: 'scroll' }, t.table));
		return { figs: f.figs, lists, tbody: t.tbody };
	});
	const stats = data?.stats || {};
	const features = Array.isArray(data?.features) ? data.features : [];
	const by = stats.by_status || {};
	setText(p.figs.total, features.length);
	for (const k of ['planned', 'in_progress', 'completed']) setText(p.figs[k], by[k] ?? 0);
	setText(p.figs.completion_rate, `${fmtNum(stats.completion_rate, 0)}%`);
	setText(
		p.figs.hours,
		`${fmtNum(stats.total_estimated_hours, 1)} / ${fmtNum(stats.total_actual_hours, 1)}`,
	);
	countList(p.lists.by_type, stats.by_type);
	countList(p.lists.by_priority, stats.by_priority);
	reconcile(
		p.tbody,
		features,
		(f) => String(f.id),
		() => {
			const tr = row(8);
			tr.cells[3].append(el('span'));
			tr.cells[2].className = 'title';
			return tr;
		},
		(tr, f) => {
			const c = tr.cells;
			setText(c[0], f.id);
			setText(c[1], f.item_type || '');
			setText(c[2], f.title || '');
			setAttr(c[2], 'title', f.description || null);
			badge(c[3].firstChild, f.status);
			setText(c[4], f.priority || '');
			setText(
				c[5],
				f.actual_hours !== null && f.actual_hours !== undefined
					? `${fmtNum(f.actual_hours, 1)} / ${fmtNum(f.estimated_hours, 1)}`
					: fmtNum(f.estimated_hours, 1),
			);
			setText(c[6], issue(f.github_issue_number));
			setText(c[7], Array.isArray(f.tags) ? f.tags.join(', ') : '');
		},
	);
}

// qc-metrics: the QC document ({coverage, naming, file_structure, linting, overall_score,
// last_updated}, TAC's QCMetrics).
export function renderQuality(body, data) {
	const p = skeleton(body, () => {
		const f = figures([
			['overall_score', 'score'],
			['overall_coverage', 'coverage'],
			['total_tests', 'tests'],
			['total_issues', 'lint issues'],
			['compliance_rate', 'naming'],
		]);
		const { lists, breakdown } = countLists({
			cover: 'coverage',
			lint: 'lint errors / warnings',
		});
		const t = table(['long file', 'lines']);
		const updated = el('div', { class: 'small' });
		body.append(f.box, breakdown, updated, el('div', { class: 'scroll' }, t.table));
		return { figs: f.figs, cover: lists.cover, lint: lists.lint, updated, tbody: t.tbody };
	});
	const d = data && typeof data === 'object' ? data : {};
	const cov = d.coverage || {};
	const lint = d.linting || {};
	setText(p.figs.overall_score, d.overall_score ?? '—');
	setText(p.figs.overall_coverage, `${fmtNum(cov.overall_coverage, 1)}%`);
	setText(p.figs.total_tests, cov.total_tests ?? '—');
	setText(p.figs.total_issues, lint.total_issues ?? '—');
	setText(p.figs.compliance_rate, `${fmtNum(d.naming?.compliance_rate, 0)}%`);
	reconcile(
		p.cover,
		['backend', 'frontend', 'adws'].filter((k) => cov[`${k}_coverage`] !== undefined),
		(k) => k,
		() => el('li', {}, el('span'), el('b')),
		(li, k) => {
			setText(li.children[0], k);
			setText(li.children[1], `${fmtNum(cov[`${k}_coverage`], 1)}%`);
		},
	);
	reconcile(
		p.lint,
		['backend', 'frontend', 'adws'].filter((k) => lint[`${k}_errors`] !== undefined),
		(k) => k,
		() => el('li', {}, el('span'), el('b')),
		(li, k) => {
			setText(li.children[0], k);
			setText(li.children[1], `${lint[`${k}_errors`]} / ${lint[`${k}_warnings`] ?? 0}`);
		},
	);
	setText(p.updated, d.last_updated ? `measured ${fmtDateTime(d.last_updated)}` : '');
	reconcile(
		p.tbody,
		d.file_structure?.long_files || [],
		(f) => f.file,
		() => {
			const tr = row(2);
			tr.cells[0].append(el('code'));
			return tr;
		},
		(tr, f) => {
			setText(tr.cells[0].firstChild, f.file);
			setText(tr.cells[1], f.lines);
		},
	);
}

const STATE_FIELDS = [
	'adw_id',
	'issue_number',
	'issue_class',
	'branch_name',
	'workflow_template',
	'model_used',
	'model_set',
	'start_time',
	'end_time',
	'status',
	'estimated_cost_total',
	'error_count',
	'last_error',
	'worktree_path',
	'plan_file',
	'nl_input',
];

export function renderAdwState(body, data) {
	const p = skeleton(body, () => {
		const dl = el('dl', { class: 'fields' });
		const costs = el('ul', { class: 'counts' });
		const raw = el('pre', { class: 'raw' });
		const details = el('details', {}, el('summary', {}, 'raw adw_state.json'), raw);
		body.append(dl, costs, details);
		return { dl, costs, raw };
	});
	const d = data && typeof data === 'object' ? data : {};
	const fields = STATE_FIELDS.filter((k) => d[k] !== undefined && d[k] !== null).map((k) => [
		k,
		d[k],
	]);
	reconcile(
		p.dl,
		fields,
		([k]) => k,
		() => el('div', {}, el('dt'), el('dd')),
		(div, [k, v]) => {
			setText(div.children[0], k);
			setText(div.children[1], typeof v === 'object' ? JSON.stringify(v) : v);
		},
	);
	reconcile(
		p.costs,
		Object.entries(d.estimated_cost_breakdown || {}),
		([k]) => k,
		() => el('li', {}, el('span'), el('b')),
		(li, [k, v]) => {
			setText(li.children[0], k);
			setText(li.children[1], fmtUsd(v));
		},
	);
	setText(p.raw, Object.keys(d).length ? JSON.stringify(d, null, 2) : '{} (no state file)');
}

export { fmtTime };
