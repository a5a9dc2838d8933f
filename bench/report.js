'use strict'
/*
 * Summaries, the markdown table and the SVG chart for bench/run.js.
 * No dependencies: the chart is a few dozen lines of SVG.
 */

/** What each metric means, which way is better, and the target on ostls/Node (issue #6). */
const METRICS = {
  cpu_per_gib: { label: 'client CPU s/GiB', better: 'lower', digits: 3 },
  gib_per_s: { label: 'wall GiB/s', better: 'higher', digits: 3 },
  rss_mb: { label: 'peak RSS MB', better: 'lower', digits: 1 },
  cpu_ms_per_hs: { label: 'client CPU ms/handshake', better: 'lower', digits: 3 },
  hs_per_s: { label: 'handshakes/s', better: 'higher', digits: 0 },
  first_cpu_ms: { label: 'first connection in a process: CPU ms (one-time set-up + handshake)', better: 'lower', digits: 1 },
  p50_us: { label: 'latency p50 µs', better: 'lower', digits: 1 },
  p99_us: { label: 'latency p99 µs', better: 'lower', digits: 1 },
  msgs_per_s: { label: 'msgs/s', better: 'higher', digits: 0 },
  cpu_us_per_msg: { label: 'client CPU µs/msg', better: 'lower', digits: 2 },
  rss_kb_per_conn: { label: 'RSS KiB/conn', better: 'lower', digits: 2 },
  threads: { label: 'threads', better: 'lower', digits: 0 }
}

/** Targets: [scenario, metric, against, op, limit, text]. */
const TARGETS = [
  ['recv', 'cpu_per_gib', 'node', '<=', 0.75, 'receive CPU/GiB ≤ 0.75× Node'],
  ['recv', 'cpu_per_gib', 'c', '<=', 1.2, 'receive CPU/GiB ≤ 1.2× C client'],
  ['recv-onread', 'cpu_per_gib', 'node', '<=', 0.75, 'receive CPU/GiB ≤ 0.75× Node (onread, both clients)'],
  ['recv-onread', 'cpu_per_gib', 'c', '<=', 1.2, 'receive CPU/GiB ≤ 1.2× C client (onread)'],
  ['send', 'cpu_per_gib', 'node', '<=', 0.9, 'send CPU/GiB ≤ 0.9× Node'],
  ['hs1', 'cpu_ms_per_hs', 'node', '<=', 1.0, 'handshake CPU ≤ 1.0× Node (sequential)'],
  ['hs16', 'cpu_ms_per_hs', 'node', '<=', 1.0, 'handshake CPU ≤ 1.0× Node (concurrency 16)'],
  ['hs64', 'cpu_ms_per_hs', 'node', '<=', 1.0, 'handshake CPU ≤ 1.0× Node (concurrency 64)'],
  ['hsr', 'cpu_ms_per_hs', 'node', '<=', 0.7, 'resumed handshake CPU ≤ 0.7× Node (sequential, same host)'],
  ['idle1000', 'rss_kb_per_conn', 'node', '<=', 0.8, 'idle RSS/conn ≤ 0.8× Node (1,000)'],
  ['idle10000', 'rss_kb_per_conn', 'node', '<=', 0.8, 'idle RSS/conn ≤ 0.8× Node (10,000)'],
  ['recv', 'gib_per_s', 'node', '>=', 1.0, 'receive wall throughput ≥ Node'],
  ['send', 'gib_per_s', 'node', '>=', 1.0, 'send wall throughput ≥ Node'],
  ['hs1', 'hs_per_s', 'node', '>=', 1.0, 'handshakes/s ≥ Node (sequential)'],
  ['hs64', 'hs_per_s', 'node', '>=', 1.0, 'handshakes/s ≥ Node (concurrency 64)'],
  ['ping', 'msgs_per_s', 'node', '>=', 1.0, 'ping-pong msgs/s ≥ Node'],
  ...[['-node', 'Node tls server, TLS 1.3'], ['12', 'C server, TLS 1.2'], ['12-node', 'Node tls server, TLS 1.2']].flatMap(([suffix, peer]) => [
    [`recv${suffix}`, 'cpu_per_gib', 'node', '<=', 0.75, `receive CPU/GiB ≤ 0.75× Node (${peer})`],
    [`recv${suffix}`, 'cpu_per_gib', 'c', '<=', 1.2, `receive CPU/GiB ≤ 1.2× C client (${peer})`],
    [`send${suffix}`, 'cpu_per_gib', 'node', '<=', 0.9, `send CPU/GiB ≤ 0.9× Node (${peer})`],
    [`send${suffix}`, 'gib_per_s', 'node', '>=', 1.0, `send wall throughput ≥ Node (${peer})`]
  ])
]

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

function stats(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, values: xs.map((x) => Number(x.toPrecision(5))) }
}

/** Per metric: each client's median/min/max, ratio of medians, per-round ratios. */
function summarize({ key, title, runs }) {
  const metrics = {}
  const names = Object.keys(runs.ostls[0] || {}).filter((k) => k !== 'round' && k !== 'raw')
  for (const m of names) {
    const entry = {}
    for (const impl of ['ostls', 'node', 'c']) entry[impl] = stats(runs[impl].map((r) => r[m]))
    entry.ratio_node = entry.ostls.median / entry.node.median
    entry.ratio_c = entry.ostls.median / entry.c.median
    const pairs = runs.ostls.map((r, i) => r[m] / runs.node[i][m]).filter(Number.isFinite)
    entry.pair_ratio_node = pairs.length ? stats(pairs) : null
    metrics[m] = entry
  }
  const threads = {}
  for (const impl of ['ostls', 'node', 'c']) threads[impl] = median(runs[impl].map((r) => r.raw.threads))
  return { key, title, metrics, threads }
}

function targetRows(report) {
  const byKey = Object.fromEntries(report.scenarios.map((s) => [s.key, s]))
  const rows = []
  for (const [key, metric, against, op, limit, text] of TARGETS) {
    const s = byKey[key]
    if (!s || !s.metrics[metric]) continue
    const e = s.metrics[metric]
    const ratio = against === 'node' ? e.ratio_node : e.ratio_c
    const met = op === '<=' ? ratio <= limit : ratio >= limit
    const pr = against === 'node' && e.pair_ratio_node ? e.pair_ratio_node : null
    rows.push({ key, metric, against, op, limit, text, ratio, met, pairMin: pr?.min, pairMax: pr?.max })
  }
  // The event loop (issue 15): no ostls call holds it more than 5 ms. For the
  // many-connects phase that is its longest single connect() call and the
  // longest stall after the calls (the loop of calls itself is the program's).
  const g = report.loopGap
  if (g) {
    const o = g.results.ostls
    const gapRow = (phase, ms, text) => rows.push({ key: `gap-${phase}`, metric: 'gap_ms', text, ms, met: ms <= 5, op: '<=', limit: 5 })
    if (o.first) gapRow('first', o.first.max, 'event-loop gap ≤ 5 ms: first connection in a process')
    if (o['new-ca']) gapRow('new-ca', o['new-ca'].max, 'event-loop gap ≤ 5 ms: a new `ca`')
    if (o.many) gapRow('many', Math.max(o.many.callMax, o.many.afterMax ?? o.many.max), `event-loop gap ≤ 5 ms: ${g.concurrent.toLocaleString('en-US')} concurrent connects (longest call, longest stall after the calls${Number.isFinite(o.many.worstReady) ? `; the longest one, ${fmt(o.many.worstWall, 1)} ms between two 1 ms ticks, was the JS thread running ${fmt(o.many.worstCpu, 1)}, ready but not running ${fmt(o.many.worstReady, 1)}, asleep ${fmt(o.many.worstAsleep, 1)}` : Number.isFinite(o.many.afterBusyMax) ? `; the JS thread's own CPU in a stall after the calls at most ${fmt(o.many.afterBusyMax, 1)} ms` : ''})`)
  }
  // No thread per connection: threads with N idle connections stay at the process's baseline.
  for (const s of report.scenarios.filter((x) => x.key.startsWith('idle'))) {
    const n = Number(s.key.slice(4))
    rows.push({ key: s.key, metric: 'threads', text: `no thread per connection (${n.toLocaleString('en-US')} idle: ${s.threads.ostls} threads; Node ${s.threads.node})`, ratio: s.threads.ostls / s.threads.node, met: s.threads.ostls <= s.threads.node + 2, op: '<=', limit: null })
  }
  return rows
}

const fmt = (x, d = 3) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : Number(x).toFixed(d))

function renderMarkdown(report) {
  const m = report.machine
  const out = []
  out.push(`# ostls benchmark (${report.mode})`, '')
  out.push(`${report.date.slice(0, 16).replace('T', ' ')} UTC · commit \`${report.commit || '?'}\` · ${report.durationS} s`, '')
  out.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Linux ${m.kernel}; load average ${m.loadavgStart.join(' / ')} at start, ${(m.loadavgEnd || []).join(' / ')} at end (shared machine: expect noise).`)
  out.push(`Node ${m.node} (bundled OpenSSL ${m.nodeOpenssl}); ostls and the C client use the system ${m.systemOpenssl}. Loopback, TLS 1.3, ECDSA P-256 server certificate, verification on.`, '')
  out.push('Each client is its own process; clients alternate run by run against one server process per scenario (bench/server.c). Values are medians over the runs (min–max in brackets); "ostls/Node" is the ratio of the medians, "per-round" the range of the ostls/Node ratios of runs made back to back. CPU is user+sys of the client process over the measured phase only.', '')
  out.push('## Targets', '')
  out.push('| target | ostls/Node (or /C) | per-round range | met |', '| --- | ---: | ---: | :---: |')
  for (const r of targetRows(report)) {
    const range = r.pairMin !== undefined ? `${fmt(r.pairMin, 2)}–${fmt(r.pairMax, 2)}` : ''
    const value = r.ms !== undefined ? `${fmt(r.ms, 1)} ms` : r.limit === null ? '' : fmt(r.ratio, 2)
    out.push(`| ${r.text} | ${value} | ${range} | ${r.met ? '✅' : '❌'} |`)
  }
  out.push('')
  out.push('## Results', '')
  out.push('| scenario | metric | ostls | Node tls | C (system OpenSSL) | ostls/Node | ostls/C |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |')
  for (const s of report.scenarios) {
    for (const [name, e] of Object.entries(s.metrics)) {
      const d = METRICS[name]?.digits ?? 3
      const cell = (x) => `${fmt(x.median, d)} <sub>(${fmt(x.min, d)}–${fmt(x.max, d)})</sub>`
      out.push(`| ${s.title} | ${METRICS[name]?.label ?? name} | ${cell(e.ostls)} | ${cell(e.node)} | ${cell(e.c)} | ${fmt(e.ratio_node, 2)} | ${fmt(e.ratio_c, 2)} |`)
    }
  }
  out.push('')
  const f = report.ffi
  if (f) {
    out.push('## FFI probe', '')
    out.push(`One binding call (koffi → libostls, no I/O): ${f.callCost.map((c) => `\`${c.name}\` ${fmt(c.ns, 0)} ns`).join(', ')}.`, '')
    out.push('| direction | FFI calls per MiB | of which | bytes per read/write call | uv_poll start/stop per MiB | CPU s/GiB (probe run) |', '| --- | ---: | --- | ---: | ---: | ---: |')
    for (const d of f.transfers) {
      const parts = Object.entries(d.callsPerMiB).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')
      out.push(`| ${d.direction} ${fmtMiB(d.bytes)} | ${fmt(d.callsPerMiB.total, 1)} | ${parts} | ${fmt(d.bytesPerIoCall, 0)} | ${fmt(d.pollOpsPerMiB, 2)} | ${fmt(d.cpuPerGiB, 3)} |`)
    }
    out.push('')
  }
  const g = report.loopGap
  if (g) {
    out.push('## Event-loop gap', '')
    out.push(`Lateness of a 1 ms timer (ms, max and p99) while the client works: the first connection in a process (trust store loaded), a connection with a new \`ca\`, and ${g.concurrent} simultaneous connects (\`bench/loop-gap.js\`). Goal: no ostls call holds the loop for more than 5 ms.`, '')
    out.push('"call" is the longest single `connect()` call of the phase. The many-connects phase makes its calls in one synchronous loop, so its max is the larger of their sum ("calls", the loop: the program’s own) and the longest stretch after them ("after": the callbacks they queued, handshakes, reads).', '')
    out.push('"own" is the most CPU the JS thread itself used between two ticks of a second 1 ms timer (Linux). Lateness beyond it is time the thread was either ready but not running (the 2 cores are shared with the server process and the client\'s other threads) or asleep (a wait inside a call); the "longest after" row splits the longest interval between two of those ticks after the calls into the three, with the run-queue time from /proc/thread-self/schedstat.', '')
    if (g.runs > 1) out.push(`Medians of ${g.runs} runs per client (fresh processes, alternating); the max's range over the runs in brackets.`, '')
    out.push('| phase | ostls max | ostls p99 | ostls call | ostls own | Node max | Node p99 | Node call | Node own |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    const maxCell = (x) => `${fmt(x.max, 1)}${x.maxMin !== undefined ? ` <sub>(${fmt(x.maxMin, 1)}–${fmt(x.maxMax, 1)})</sub>` : ''}`
    const row = (phase, o, n) => `| ${phase} | ${maxCell(o)} | ${fmt(o.p99, 1)} | ${o.callMax === undefined ? '' : fmt(o.callMax, 2)} | ${fmt(o.busyMax, 1)} | ${maxCell(n)} | ${fmt(n.p99, 1)} | ${n.callMax === undefined ? '' : fmt(n.callMax, 2)} | ${fmt(n.busyMax, 1)} |`
    for (const phase of Object.keys(g.results.ostls)) {
      const o = g.results.ostls[phase], n = g.results.node[phase]
      out.push(row(phase, o, n))
      if (o.loopMax !== undefined) {
        out.push(`| ${phase}: calls | ${fmt(o.loopMax, 1)} | | | | ${fmt(n.loopMax, 1)} | | | |`)
        out.push(`| ${phase}: after | ${fmt(o.afterMax, 1)} | | | ${fmt(o.afterBusyMax, 1)} | ${fmt(n.afterMax, 1)} | | | ${fmt(n.afterBusyMax, 1)} |`)
        if (Number.isFinite(o.worstReady)) {
          const split = (x) => `${fmt(x.worstWall, 1)} = ${fmt(x.worstCpu, 1)} running + ${fmt(x.worstReady, 1)} ready + ${fmt(x.worstAsleep, 1)} asleep`
          out.push(`| ${phase}: longest after | ${split(o)} | | | | ${split(n)} | | | |`)
        }
      }
    }
    out.push('')
  }
  out.push('![ostls/Node ratios](ratios.svg)', '')
  return out.join('\n')
}

function fmtMiB(b) {
  return `${Math.round(b / 1048576)} MiB`
}

/** Horizontal bars of ostls/Node per target, log scale, whiskers = per-round range. */
function renderSvg(report) {
  const rows = targetRows(report).filter((r) => r.limit !== null && r.against === 'node')
  const W = 760
  const left = 330
  const right = 40
  const rowH = 26
  const top = 46
  const H = top + rows.length * rowH + 40
  const lo = Math.log(0.25)
  const hi = Math.log(4)
  const x = (v) => left + ((Math.log(Math.min(4, Math.max(0.25, v))) - lo) / (hi - lo)) * (W - left - right)
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const parts = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`)
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  parts.push(`<text x="10" y="18" font-size="14" font-weight="bold">ostls ÷ Node tls (log scale; bar colour: target met/missed; whiskers: per-round range)</text>`)
  parts.push(`<text x="10" y="34" fill="#555">${esc(report.machine.cpu)}, ${report.machine.cores} cores · ${esc(report.date.slice(0, 10))} · ${report.mode}</text>`)
  for (const t of [0.25, 0.5, 0.75, 1, 1.5, 2, 4]) {
    const tx = x(t)
    parts.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${top + rows.length * rowH}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`)
    parts.push(`<text x="${tx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${t}×</text>`)
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH
    const x1 = x(1)
    const xr = x(r.ratio)
    parts.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(r.text)}</text>`)
    parts.push(`<rect x="${Math.min(x1, xr)}" y="${y + 5}" width="${Math.max(1, Math.abs(xr - x1))}" height="${rowH - 10}" fill="${r.met ? '#2e8b57' : '#d9534f'}" opacity="0.85"/>`)
    if (r.pairMin !== undefined) {
      parts.push(`<line x1="${x(r.pairMin)}" y1="${y + rowH / 2}" x2="${x(r.pairMax)}" y2="${y + rowH / 2}" stroke="#333"/>`)
    }
    const lx = x(r.limit)
    parts.push(`<line x1="${lx}" y1="${y + 2}" x2="${lx}" y2="${y + rowH - 2}" stroke="#1f4e9c" stroke-width="2" stroke-dasharray="3,2"/>`)
    parts.push(`<text x="${Math.max(x1, xr) + 4}" y="${y + 16}" fill="#222">${r.ratio.toFixed(2)}</text>`)
  })
  parts.push(`<text x="10" y="${H - 8}" fill="#555">dashed blue: target. Cost rows: left of 1× is cheaper than Node. Throughput rows: right of 1× is faster.</text>`)
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

module.exports = { summarize, renderMarkdown, renderSvg, targetRows, median, METRICS, TARGETS }
