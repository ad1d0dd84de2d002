// Tiny DOM helpers for in-place updates: nothing is rebuilt when the data has not changed,
// so a panel with hundreds of rows updates without flicker. Data only ever reaches the page
// as text (textContent), never as HTML.

export function el(tag, attrs = {}, ...children) {
	const node = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (k === 'class') node.className = v;
		else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
		else node.setAttribute(k, v);
	}
	for (const c of children) node.append(c);
	return node;
}

export function setText(node, value) {
	const text = value === null || value === undefined ? '' : String(value);
	if (node.textContent !== text) node.textContent = text;
}

export function setAttr(node, name, value) {
	if (value === null || value === undefined || value === false) {
		if (node.hasAttribute(name)) node.removeAttribute(name);
	} else if (node.getAttribute(name) !== String(value)) {
		node.setAttribute(name, value);
	}
}

export function setClass(node, name, on) {
	if (node.classList.contains(name) !== Boolean(on)) node.classList.toggle(name, Boolean(on));
}

// Makes container's children match items, in order, reusing the node of each key:
// create(item) builds a node once, update(node, item) refreshes it every time.
export function reconcile(container, items, keyOf, create, update) {
	const old = new Map();
	for (const child of container.children) old.set(child.dataset.key, child);
	let i = 0;
	for (const item of items) {
		const key = String(keyOf(item));
		let node = old.get(key);
		if (node) old.delete(key);
		else {
			node = create(item);
			node.dataset.key = key;
		}
		update(node, item);
		const at = container.children[i];
		if (at !== node) container.insertBefore(node, at || null);
		i++;
	}
	for (const node of old.values()) node.remove();
}

// A table row whose cells are filled by update(); cells[i] are the <td>s.
export function row(n, cls = '') {
	const tr = el('tr', cls ? { class: cls } : {});
	for (let i = 0; i < n; i++) tr.append(el('td'));
	return tr;
}

export function fmtTime(iso) {
	if (!iso) return '—';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return String(iso);
	return d.toLocaleTimeString([], { hour12: false });
}

export function fmtDateTime(iso) {
	if (!iso) return '—';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return String(iso);
	return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

export function fmtDuration(seconds) {
	if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
	let s = Math.round(Number(seconds));
	const h = Math.floor(s / 3600);
	s -= h * 3600;
	const m = Math.floor(s / 60);
	s -= m * 60;
	if (h) return `${h}h ${m}m`;
	if (m) return `${m}m ${s}s`;
	return `${s}s`;
}

export function fmtUsd(v) {
	if (v === null || v === undefined || v === '' || Number.isNaN(Number(v))) return '—';
	return `$${Number(v).toFixed(2)}`;
}

export function fmtNum(v, digits = 0) {
	if (v === null || v === undefined || Number.isNaN(Number(v))) return '—';
	return Number(v).toFixed(digits);
}
