// End-to-end test of the dashboard (web/) in headless Chromium against a real tacwsd on the
// demo fixtures: every panel shows data, a source change shows up, "reconnecting" while
// tacwsd is down and recovery on its own when it is back, hidden → visible reconnects.
//
// Needs: /usr/bin/chromium (apt-get install -y chromium), playwright-core (npm ci at the repo
// root), a build with core/tacwsd, the plugins and tools/demo/tacws-demo. A missing piece
// is a failure, never a skip.
//
// Environment: TACWS_SOURCE_DIR, TACWS_BUILD_DIR (ctest sets both), CHROMIUM, TACWSD,
// TACWS_COMPRESSION (1: tacwsd offers permessage-deflate), TACWS_ALLOWED_ORIGINS ([auth]
// allowed_origins, set to another origin than the page's: the page still connects),
// TACWS_DEMO, TACWS_SCREENSHOT_DIR (default <build>/tests/web/screenshots).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = process.env.TACWS_SOURCE_DIR || path.resolve(here, '../..');
const BUILD = process.env.TACWS_BUILD_DIR || path.join(SRC, 'build');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TACWSD = process.env.TACWSD || path.join(BUILD, 'core/tacwsd');
const DEMO = process.env.TACWS_DEMO || path.join(BUILD, 'tools/demo/tacws-demo');
const PLUGINS = process.env.TACWS_PLUGIN_DIR || path.join(BUILD, 'plugins');
const SHOTS = process.env.TACWS_SCREENSHOT_DIR || path.join(BUILD, 'tests/web/screenshots');
const TOTAL_MS = 240000;
const ALLOWED_ORIGINS = process.env.TACWS_ALLOWED_ORIGINS || '';
// one step more for each of allowed_origins and compression
const STEPS = 15 + (ALLOWED_ORIGINS ? 1 : 0) + (process.env.TACWS_COMPRESSION === '1' ? 1 : 0);
const GRACE_MS = 1500; // hidden-page grace period asked of the page under test

const children = new Set();
let tmp = null;
let context = null;

function log(msg) {
	process.stdout.write(`# ${msg}\n`);
}

async function cleanup() {
	if (context) await context.close().catch(() => {});
	context = null;
	for (const c of children) await stopChild(c);
	if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	tmp = null;
}

async function die(msg) {
	process.stdout.write(`not ok - ${msg}\n0 passed, 1 failed\n`);
	await cleanup();
	process.exit(1);
}

const watchdog = setTimeout(() => die(`timed out after ${TOTAL_MS / 1000} s`), TOTAL_MS);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => die(`stopped by ${sig}`));

function start(name, file, args, opts = {}) {
	const out = fs.openSync(path.join(tmp, `${name}.log`), 'a');
	const c = spawn(file, args, { stdio: ['ignore', out, out], ...opts });
	fs.closeSync(out);
	c.name = name;
	c.exited = new Promise((resolve) => c.on('exit', (code, sig) => resolve({ code, sig })));
	c.on('error', () => {});
	children.add(c);
	return c;
}

// Stops one child we started, by its PID: SIGTERM, then SIGKILL after 3 s. Returns how it
// ended, {code, sig}.
async function stopChild(c) {
	if (c.exitCode === null && c.signalCode === null) {
		c.kill('SIGTERM');
		const t = setTimeout(() => c.kill('SIGKILL'), 3000);
		await c.exited;
		clearTimeout(t);
	}
	children.delete(c);
	return c.exited;
}

// Under ASan/UBSan a leak or an error report makes tacwsd exit non-zero.
async function stopServer(c) {
	const { code, sig } = await stopChild(c);
	if (code !== 0)
		throw new Error(`tacwsd exited with ${code ?? sig} on SIGTERM:\n${tail('tacwsd')}`);
}

function tail(name) {
	try {
		return fs
			.readFileSync(path.join(tmp, `${name}.log`), 'utf8')
			.split('\n')
			.slice(-15)
			.join('\n');
	} catch (e) {
		return '';
	}
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 15000, everyMs = 200) {
	const end = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last) return last;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > end)
			throw new Error(
				`${what}: not after ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`,
			);
		await sleep(everyMs);
	}
}

async function httpOk(url) {
	try {
		const res = await fetch(url);
		await res.arrayBuffer();
		return res.ok;
	} catch (e) {
		return false;
	}
}

// The status line of a WebSocket upgrade of /api/v1/ws/queue sent with this Origin.
function upgradeStatus(port, origin) {
	return new Promise((resolve, reject) => {
		const sock = net.connect(port, '127.0.0.1');
		let head = '';
		sock.setTimeout(5000, () => {
			sock.destroy();
			reject(new Error(`no answer to an upgrade from ${origin}`));
		});
		sock.on('connect', () =>
			sock.write(
				'GET /api/v1/ws/queue HTTP/1.1\r\n' +
					`Host: 127.0.0.1:${port}\r\n` +
					'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
					'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
					`Sec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
			),
		);
		sock.on('data', (d) => {
			head += d;
			const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
			if (m) {
				sock.destroy();
				resolve(Number(m[1]));
			}
		});
		sock.on('error', reject);
		sock.on('close', () => reject(new Error(`closed without an answer: ${head}`)));
	});
}

function writeConfig(port, demoPort) {
	const feeds = [
		['workflows', 'workflows'],
		['adw-state', 'adw_state'],
		['adw-monitor', 'adw_monitor'],
		['queue', 'queue'],
		['workflow-history', 'history'],
		['routes', 'routes'],
		['system-status', 'system_status'],
		['webhook-status', 'webhook_status'],
		['planned-features', 'planned_features'],
		['qc-metrics', 'qc_metrics'],
	];
	// TAC's six service keys, against the demo's stand-ins
	const checks = [
		['backend_api', 'http', 'Backend API', `url = http://127.0.0.1:${demoPort}/api/v1/health`],
		['database', 'database', 'Database', ''],
		['webhook', 'http', 'Webhook Service', `url = http://127.0.0.1:${demoPort}/webhook-status`],
		['frontend', 'http', 'Frontend', `url = http://127.0.0.1:${demoPort}/`],
		['cloudflare_tunnel', 'process', 'Cloudflare Tunnel', 'pattern = cloudflared tunnel run'],
		['github_webhook', 'http', 'GitHub Webhook', `url = http://127.0.0.1:${demoPort}/tunnel/health`],
	];
	const ini = [
		'[server]',
		'listen = 127.0.0.1',
		`port = ${port}`,
		`plugin_dir = ${PLUGINS}`,
		`web_dir = ${path.join(SRC, 'web')}`,
		'workers = 2',
		// TACWS_COMPRESSION=1: Chromium offers permessage-deflate and tacwsd takes it;
		// otherwise compression = 0 (on by default): plain frames
		`compression = ${process.env.TACWS_COMPRESSION === '1' ? 1 : 0}`,
		'',
		'[sources]',
		`repo_root = ${path.join(tmp, 'repo')}`,
		`database = sqlite:${path.join(tmp, 'repo/db/database.db')}`,
		`backend_url = http://127.0.0.1:${demoPort}`,
		`webhook_status_url = http://127.0.0.1:${demoPort}/webhook-status`,
		'',
		// TACWS_ALLOWED_ORIGINS: TAC's own frontend is the listed origin; the dashboard
		// tacwsd serves is same-origin and must connect all the same
		...(ALLOWED_ORIGINS ? ['[auth]', `allowed_origins = ${ALLOWED_ORIGINS}`, ''] : []),
		...feeds.flatMap(([f, p]) => [
			`[feed.${f}]`,
			`plugin = ${p}`,
			'enabled = true',
			'interval_ms = 500',
			...(f === 'qc-metrics'
				? [`path = ${path.join(tmp, 'repo/QC_METRICS_ENHANCED.json')}`]
				: []),
			'',
		]),
		...checks.flatMap(([key, type, name, line]) => [
			`[check.${key}]`,
			`type = ${type}`,
			`name = ${name}`,
			...(line ? [line] : []),
			'timeout_ms = 1000',
			'',
		]),
	];
	const file = path.join(tmp, 'tacws.ini');
	fs.writeFileSync(file, ini.join('\n'));
	return file;
}

// Reads the page: each panel's seq and row count, and each connection's shown state.
function readPage(page) {
	return page.evaluate(() => {
		const panels = {};
		for (const s of document.querySelectorAll('section.panel')) {
			const id = s.id.replace('panel-', '');
			const meta = s.querySelector('.meta');
			panels[id] = {
				seq:
					meta.dataset.seq === undefined || meta.dataset.seq === ''
						? null
						: Number(meta.dataset.seq),
				rows: s.querySelectorAll(
					'tbody tr, ul.services li, dl.fields > div',
				).length,
				text: s.querySelector('.body').textContent,
			};
		}
		const conns = [...document.querySelectorAll('#connections li')].map((li) => ({
			label: li.children[1].textContent,
			state: li.dataset.state,
			hint: li.children[3].textContent,
		}));
		return { panels, conns };
	});
}

const allIn = (conns, state) => conns.length > 0 && conns.every((c) => c.state === state);

const results = [];
async function step(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
		results.push(true);
		process.stdout.write(`ok ${results.length} - ${name} (${Date.now() - t0} ms)\n`);
	} catch (e) {
		results.push(false);
		process.stdout.write(`not ok ${results.length} - ${name}: ${e.message}\n`);
		throw e;
	}
}

async function main() {
	if (!fs.existsSync(CHROMIUM))
		await die(`${CHROMIUM} not found: apt-get install -y chromium`);
	let chromium;
	try {
		const entry = path.join(SRC, 'node_modules/playwright-core/index.mjs');
		({ chromium } = await import(pathToFileURL(entry).href));
	} catch (e) {
		await die(
			`playwright-core not found under ${SRC}/node_modules: run npm ci in ${SRC}`,
		);
	}
	for (const [what, file] of [
		['tacwsd', TACWSD],
		['tacws-demo', DEMO],
	])
		if (!fs.existsSync(file)) await die(`${what} not built: ${file} is missing`);
	for (const p of [
		'workflows',
		'adw_state',
		'adw_monitor',
		'queue',
		'history',
		'routes',
		'system_status',
		'webhook_status',
		'planned_features',
		'qc_metrics',
	])
		if (!fs.existsSync(path.join(PLUGINS, `${p}.so`)))
			await die(`plugin ${p}.so not built in ${PLUGINS}`);

	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tacws-web-'));
	fs.mkdirSync(SHOTS, { recursive: true });
	const repo = path.join(tmp, 'repo');
	const demoPort = await freePort();
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;

	start('demo', DEMO, [
		'--repo-root',
		repo,
		'--schema',
		path.join(SRC, 'tools/demo/tac-schema.sql'),
		'--http-port',
		String(demoPort),
		'--tick-ms',
		'1500',
		'--seed',
		'7',
		'--duration',
		String(TOTAL_MS / 1000),
	]);
	await waitFor(
		'demo fixtures',
		() =>
			fs.existsSync(path.join(repo, 'db/database.db')) &&
			httpOk(`http://127.0.0.1:${demoPort}/openapi.json`),
	).catch((e) => die(`${e.message}\n${tail('demo')}`));
	const config = writeConfig(port, demoPort);
	let server = start('tacwsd', TACWSD, ['--config', config]);
	await waitFor('tacwsd /healthz', () => httpOk(`${base}/healthz`)).catch((e) =>
		die(`${e.message}\n${tail('tacwsd')}`),
	);

	if (ALLOWED_ORIGINS)
		await step('allowed_origins: listed and same-origin upgrades pass, others get 403', async () => {
			const listed = ALLOWED_ORIGINS.split(',')[0].trim();
			const want = [
				[listed, 101],
				[`http://127.0.0.1:${port}`, 101], // the page tacwsd serves: Origin == Host
				['http://evil.example', 403],
				[`http://127.0.0.1:${port + 1}`, 403], // same host, another port: another origin
			];
			for (const [origin, status] of want) {
				const got = await upgradeStatus(port, origin);
				if (got !== status)
					throw new Error(`Origin ${origin}: ${got}, want ${status}`);
			}
		});

	const userDir = fs.mkdtempSync(path.join(tmp, 'chromium-'));
	context = await chromium.launchPersistentContext(userDir, {
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
		viewport: { width: 1400, height: 1000 },
	});
	// The server offers the multiplexed socket; ?multiplex=false checks the per-feed fallback.
	for (const [mode, probeId, shot] of [
		['multiplexed', 'feedbeef', ''],
		['per-feed', 'feedbee2', '-per-feed'],
	]) {
		const page = await context.newPage();
		const errors = [];
		page.on('pageerror', (e) => errors.push(e.message));
		page.on('console', (m) => {
			if (
				m.type() === 'error' &&
				!/Failed to load resource|WebSocket connection/.test(m.text())
			)
				errors.push(m.text());
		});

		await step(`${mode}: the dashboard loads from tacwsd`, async () => {
			const query = mode === 'per-feed' ? '&multiplex=false' : '';
			const res = await page.goto(`${base}/?grace=${GRACE_MS}${query}`);
			if (!res.ok()) throw new Error(`GET / answered ${res.status()}`);
			await page.waitForSelector('#connections li', { timeout: 10000 });
		});

		await step(`${mode}: every panel shows its feed data with a seq`, async () => {
			// A panel counts as filled once its feed has sent a snapshot with rows: the first
			// snapshot may be taken before the demo has written its first rows.
			const rowPanels = [
				'monitor',
				'queue',
				'history',
				'routes',
				'workflows',
				'system',
				'adw-state',
				'planned',
				'quality',
			];
			await waitFor(
				'all panels filled',
				async () => {
					const { panels } = await readPage(page);
					const empty = Object.entries(panels)
						.filter(
							([id, p]) =>
								p.seq === null ||
								(rowPanels.includes(id)
									? p.rows < 1
									: p.text.length <= 20),
						)
						.map(([id]) => id);
					if (empty.length)
						throw new Error(`still empty: ${empty.join(', ')}`);
					return true;
				},
				30000,
			);
			const { panels, conns } = await readPage(page);
			for (const id of rowPanels)
				if (panels[id].rows < 1) throw new Error(`panel ${id} has no rows`);
			// system-status: one card per TAC service key, in TAC's order
			const services = await page.$$eval('#panel-system li[data-service]', (lis) =>
				lis.map((li) => li.dataset.service),
			);
			const tacKeys = 'backend_api database webhook frontend cloudflare_tunnel github_webhook';
			if (services.join(' ') !== tacKeys)
				throw new Error(`system-status services: ${services.join(', ')}`);
			if (!/last success: issue #\d+/.test(panels.webhook.text))
				throw new Error(`webhook panel: ${panels.webhook.text.slice(0, 160)}`);
			const current = await page.textContent('#panel-current .card code');
			if (!/^[0-9a-f]{8}$/.test(current))
				throw new Error(
					`current workflow card shows no adw_id: ${panels.current.text}`,
				);
			if (!/total received/.test(panels.webhook.text))
				throw new Error(
					`webhook panel: ${panels.webhook.text.slice(0, 120)}`,
				);
			if (!allIn(conns, 'live'))
				throw new Error(`connections: ${JSON.stringify(conns)}`);
			log(`connections: ${conns.map((c) => c.label).join(', ')}`);
			// with compression = 1 the browser's sockets must have taken permessage-deflate
			const metrics = await (await fetch(`${base}/metrics`)).text();
			const compressed = Number(/^tacws_connections_compressed (\d+)$/m.exec(metrics)?.[1]);
			const want = process.env.TACWS_COMPRESSION === '1';
			if (want ? !(compressed >= conns.length) : compressed !== 0)
				throw new Error(`tacws_connections_compressed ${compressed}, ${conns.length} sockets`);
			log(`compressed connections: ${compressed}`);
			await page.screenshot({
				path: path.join(SHOTS, `dashboard${shot}.png`),
				fullPage: true,
			});
		});

		// Chromium takes tacwsd's answer, and the messages it compresses (with the
		// 512-byte window answered, each on its own stream) are read: on a socket of
		// its own, two 2 KB pings, both answered
		if (mode === 'multiplexed' && process.env.TACWS_COMPRESSION === '1')
			await step('compression: the answer Chromium took; its compressed pings', async () => {
				const r = await page.evaluate(
					(url) =>
						new Promise((resolve) => {
							const ws = new WebSocket(url);
							const stamps = ['deflate-a-', 'deflate-b-'].map(
								(p) => p + 'running;'.repeat(250),
							);
							const got = [];
							ws.onopen = () =>
								stamps.forEach((t) =>
									ws.send(JSON.stringify({ type: 'ping', timestamp: t })),
								);
							ws.onmessage = (e) => {
								const m = JSON.parse(e.data);
								if (m.type === 'pong') got.push(stamps.indexOf(m.timestamp));
								if (got.length === 2) {
									resolve({ extensions: ws.extensions, got });
									ws.close();
								}
							};
							ws.onerror = () => resolve({ error: true });
							setTimeout(
								() => resolve({ timeout: true, extensions: ws.extensions, got }),
								5000,
							);
						}),
					`${base.replace('http', 'ws')}/api/v1/ws/workflows`,
				);
				const want =
					'permessage-deflate; server_no_context_takeover; ' +
					'client_no_context_takeover; client_max_window_bits=9';
				if (r.extensions !== want) throw new Error(`extensions ${JSON.stringify(r)}`);
				if (JSON.stringify(r.got) !== '[0,1]') throw new Error(`pongs ${JSON.stringify(r)}`);
				log(`extensions: ${r.extensions}`);
			});

		await step(`${mode}: a source change shows up without a reload`, async () => {
			const before = (await readPage(page)).panels.workflows.seq;
			// Tag a row node: updating in place must keep it, a re-render would replace it.
			// Every row is tagged: the demo may drop a workflow meanwhile, which is no rebuild.
			const probed = await page.evaluate(() =>
				[...document.querySelectorAll('#panel-workflows tbody tr')].map((tr) => {
					tr.tacwsProbe = true;
					return tr.dataset.key;
				}),
			);
			const dir = path.join(repo, `agents/${probeId}`);
			fs.mkdirSync(dir, { recursive: true });
			const state = {
				adw_id: probeId,
				issue_number: '4242',
				nl_input: 'browser test workflow',
				github_url: 'https://github.com/example/repo/issues/4242',
				start_time: new Date().toISOString(),
			};
			fs.writeFileSync(
				path.join(dir, 'adw_state.json.tmp'),
				JSON.stringify(state, null, 2),
			);
			fs.renameSync(
				path.join(dir, 'adw_state.json.tmp'),
				path.join(dir, 'adw_state.json'),
			);
			for (const panel of ['workflows', 'monitor'])
				await page.waitForSelector(
					`#panel-${panel} tr[data-key="${probeId}"]`,
					{ timeout: 15000 },
				);
			const after = (await readPage(page)).panels.workflows.seq;
			if (!(after > before))
				throw new Error(`workflows seq ${before} → ${after}`);
			const rows = await page.evaluate(
				(keys) =>
					[...document.querySelectorAll('#panel-workflows tbody tr')]
						.filter((tr) => keys.includes(tr.dataset.key))
						.map((tr) => [tr.dataset.key, tr.tacwsProbe === true]),
				probed,
			);
			if (rows.length === 0) throw new Error('no row from before the change is left');
			const rebuilt = rows.filter(([, kept]) => !kept).map(([key]) => key);
			if (rebuilt.length)
				throw new Error(`rows ${rebuilt.join(', ')} were rebuilt instead of updated in place`);
		});

		await step(
			`${mode}: tacwsd stops: every indicator says reconnecting, the data stays`,
			async () => {
				await stopServer(server);
				const { conns, panels } = await waitFor(
					'reconnecting shown',
					async () => {
						const r = await readPage(page);
						return allIn(r.conns, 'reconnecting') ? r : null;
					},
					10000,
				);
				if (!conns.every((c) => /try \d+\/10/.test(c.hint)))
					throw new Error(
						`no countdown/attempt shown: ${JSON.stringify(conns)}`,
					);
				if (panels.monitor.rows < 1) throw new Error('panels were cleared');
				await page.screenshot({
					path: path.join(SHOTS, `dashboard${shot}-reconnecting.png`),
				});
			},
		);

		await step(`${mode}: tacwsd restarts: the page recovers by itself`, async () => {
			// first a try that fails while it is away
			await waitFor('a failed try while tacwsd is away', async () =>
				(await readPage(page)).conns.every((c) => /try ([2-9]|10)\/10/.test(c.hint)),
			);
			const seqBefore = (await readPage(page)).panels.queue.seq;
			server = start('tacwsd', TACWSD, ['--config', config]);
			await waitFor('tacwsd back', () => httpOk(`${base}/healthz`)).catch((e) =>
				die(`${e.message}\n${tail('tacwsd')}`),
			);
			await waitFor(
				'all live again',
				async () => allIn((await readPage(page)).conns, 'live'),
				45000,
			);
			// A restarted server starts its seq again: the snapshot replaced the panel data.
			await waitFor(
				'queue snapshot after reconnect',
				async () => (await readPage(page)).panels.queue.seq !== null,
			);
			log(`queue seq ${seqBefore} before the restart`);
		});

		await step(
			`${mode}: hidden: disconnects after the grace period; visible: reconnects at once`,
			async () => {
				const setVisibility = (v) =>
					page.evaluate((state) => {
						Object.defineProperty(document, 'visibilityState', {
							configurable: true,
							get: () => state,
						});
						Object.defineProperty(document, 'hidden', {
							configurable: true,
							get: () => state === 'hidden',
						});
						document.dispatchEvent(
							new Event('visibilitychange'),
						);
					}, v);
				await setVisibility('hidden');
				await sleep(GRACE_MS / 2);
				if (!allIn((await readPage(page)).conns, 'live'))
					throw new Error('closed before the grace period ended');
				await waitFor(
					'offline while hidden',
					async () => {
						const { conns } = await readPage(page);
						return (
							allIn(conns, 'offline') &&
							conns.every((c) => c.hint === 'page hidden')
						);
					},
					5000,
				);
				await sleep(3000);
				if (!allIn((await readPage(page)).conns, 'offline'))
					throw new Error('a hidden page tried to reconnect');
				// The server agrees: nobody is subscribed any more.
				await waitFor('no subscribers left on tacwsd', async () => {
					const res = await fetch(`${base}/api/v1/feeds`);
					const { feeds } = await res.json();
					const n = feeds.reduce(
						(sum, f) => sum + (f.subscribers || 0),
						0,
					);
					if (n) throw new Error(`${n} subscriber(s)`);
					return true;
				});
				const t0 = Date.now();
				await setVisibility('visible');
				await waitFor(
					'live after visible',
					async () => allIn((await readPage(page)).conns, 'live'),
					5000,
					50,
				);
				log(`visible → live in ${Date.now() - t0} ms`);
			},
		);

		await step(`${mode}: no script errors on the page`, async () => {
			if (errors.length) throw new Error(errors.join(' | '));
		});
		await page.close();
	}

	await step('tacwsd stops cleanly on SIGTERM', () => stopServer(server));
}

try {
	await main();
} catch (e) {
	if (!results.length || results.at(-1)) process.stdout.write(`not ok - ${e.message}\n`);
}
clearTimeout(watchdog);
await cleanup();
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
const ok = results.length === STEPS && failed === 0;
process.stdout.write(`${passed} passed, ${ok ? 0 : Math.max(1, failed)} failed\n`);
process.exit(ok ? 0 : 1);
