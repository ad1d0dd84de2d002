// A fake clock, fake WebSocket, fake document and window for testing web/tacws-client.js
// under node's test runner: time moves only when a test calls clock.advance().

export class FakeClock {
	constructor() {
		this.t = 0;
		this.nextId = 1;
		this.timers = new Map();
	}

	now() {
		return this.t;
	}

	setTimeout(fn, ms) {
		const id = this.nextId++;
		this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
		return id;
	}

	clearTimeout(id) {
		this.timers.delete(id);
	}

	pending() {
		return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b);
	}

	// Runs every timer due up to now+ms, in time order, including ones set meanwhile.
	advance(ms) {
		const end = this.t + ms;
		for (;;) {
			let next = null;
			for (const [id, x] of this.timers)
				if (x.at <= end && (next === null || x.at < next[1].at))
					next = [id, x];
			if (!next) break;
			this.timers.delete(next[0]);
			this.t = next[1].at;
			next[1].fn();
		}
		this.t = end;
	}
}

export function makeFakeWebSocket() {
	const instances = [];
	class FakeWebSocket {
		constructor(url) {
			this.url = url;
			this.sent = [];
			this.closed = false;
			this.onopen = this.onmessage = this.onclose = this.onerror = null;
			instances.push(this);
		}

		send(text) {
			this.sent.push(JSON.parse(text));
		}

		close() {
			this.closed = true;
		}

		// Test side: what the server does.
		serverOpen() {
			this.onopen?.({});
		}

		serverSend(obj) {
			this.onmessage?.({ data: JSON.stringify(obj) });
		}

		serverClose() {
			this.closed = true;
			this.onerror?.({});
			this.onclose?.({ code: 1006 });
		}
	}
	return { FakeWebSocket, instances };
}

export class FakeDocument extends EventTarget {
	constructor() {
		super();
		this.visibilityState = 'visible';
	}

	setVisibility(state) {
		this.visibilityState = state;
		this.dispatchEvent(new Event('visibilitychange'));
	}
}

export function makeEnv({ random = () => 0.5 } = {}) {
	const clock = new FakeClock();
	const { FakeWebSocket, instances } = makeFakeWebSocket();
	const document = new FakeDocument();
	const window = new EventTarget();
	const logs = [];
	const env = {
		WebSocket: FakeWebSocket,
		fetch: undefined,
		now: () => clock.now(),
		setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
		clearTimeout: (id) => clock.clearTimeout(id),
		random,
		document,
		window,
		logger: {
			warn: (m) => logs.push(m),
			info: (m) => logs.push(m),
			log: (m) => logs.push(m),
		},
	};
	return { env, clock, instances, document, window, logs };
}
