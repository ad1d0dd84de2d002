// The browser's cost of a change: JSON.parse of the full message against JSON.parse of the
// delta message plus web/tacws-client.js's applyJsonPatch on the state held, in headless
// Chromium, on the changes `delta-stats --emit FILE` wrote from a tacws-cat capture.
//
//   node tools/delta-stats/browser-apply.mjs changes.jsonl
//
// Needs /usr/bin/chromium (or $CHROMIUM) and playwright-core (npm ci at the repo root).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const REPEAT = 200; // each change parsed/applied this many times per timing, for the clock's grain

const file = process.argv[2];
if (!file) {
	console.error('usage: browser-apply.mjs changes.jsonl');
	process.exit(1);
}
const changes = fs
	.readFileSync(file, 'utf8')
	.split('\n')
	.filter(Boolean)
	.map((l) => JSON.parse(l));
const { chromium } = await import(pathToFileURL(path.join(SRC, 'node_modules/playwright-core/index.mjs')).href);
const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'delta-chromium-'));
const context = await chromium.launchPersistentContext(userDir, {
	executablePath: CHROMIUM,
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
	const page = await context.newPage();
	const client = fs.readFileSync(path.join(SRC, 'web/tacws-client.js'), 'utf8');
	await page.addScriptTag({ type: 'module', content: `${client}\nwindow.applyJsonPatch = applyJsonPatch;` });
	await page.waitForFunction(() => typeof window.applyJsonPatch === 'function');
	const result = await page.evaluate(
		({ changes, repeat }) => {
			const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
			const full = [];
			const delta = [];
			let mismatches = 0;
			for (let i = 1; i < changes.length; i++) {
				const base = JSON.parse(changes[i - 1].full).data;
				const want = JSON.stringify(JSON.parse(changes[i].full).data);
				let t0 = performance.now();
				for (let r = 0; r < repeat; r++) JSON.parse(changes[i].full);
				full.push(((performance.now() - t0) * 1000) / repeat);
				let got;
				t0 = performance.now();
				for (let r = 0; r < repeat; r++) {
					const msg = JSON.parse(changes[i].delta);
					got = window.applyJsonPatch(base, msg.delta);
				}
				delta.push(((performance.now() - t0) * 1000) / repeat);
				if (JSON.stringify(got) !== want) mismatches++;
			}
			return {
				changes: full.length,
				fullUs: median(full),
				deltaUs: median(delta),
				fullBytes: median(changes.map((c) => c.full.length)),
				deltaBytes: median(changes.map((c) => c.delta.length)),
				mismatches,
				ua: navigator.userAgent,
			};
		},
		{ changes, repeat: REPEAT },
	);
	console.log(JSON.stringify(result, null, 1));
	if (result.mismatches) process.exitCode = 2;
} finally {
	await context.close();
	fs.rmSync(userDir, { recursive: true, force: true });
}
