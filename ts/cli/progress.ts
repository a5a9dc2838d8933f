/**
 * The download progress line of `ostls get -o`: bar, size, rate and ETA,
 * drawn by cli-progress on a terminal only (the caller decides when).
 */
import { SingleBar, Format } from 'cli-progress'

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

function formatEta(s: number): string {
  if (!Number.isFinite(s)) return '--:--'
  s = Math.ceil(s)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

export interface Progress {
  add(bytes: number): void
  stop(): void
}

/** total: the Content-Length, or undefined when the server did not say (no bar, no ETA then). */
export function progressBar(stream: NodeJS.WriteStream, total: number | undefined): Progress {
  let value = 0
  const started = Date.now()
  const bar = new SingleBar({
    stream,
    hideCursor: true,
    clearOnComplete: false,
    barsize: 24,
    format: (options, params) => {
      const secs = Math.max((Date.now() - started) / 1000, 0.001)
      const rate = value / secs
      const rateText = `${formatBytes(Math.round(rate))}/s`
      if (total === undefined) return `${formatBytes(value)}  ${rateText}`
      const eta = value >= total ? 0 : rate > 0 ? (total - value) / rate : Infinity
      const pct = `${Math.floor(params.progress * 100)}%`.padStart(4)
      return `${pct} ${Format.BarFormat(params.progress, options)} ${formatBytes(value)} / ${formatBytes(total)}  ${rateText}  ETA ${formatEta(eta)}`
    }
  })
  bar.start(total ?? 1, 0)
  return {
    add(n: number) {
      value += n
      bar.update(total === undefined ? 0 : Math.min(value, total))
    },
    stop() {
      if (total !== undefined) bar.update(Math.min(value, total))
      bar.stop()
    }
  }
}
