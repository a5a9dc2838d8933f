// A 1 ms timer that records the event loop's longest gap between its ticks
// and how many ticks ran, cleared at the test's teardown: the tests that show
// a wait (a hanging proxy, an SSPI step) never holds the loop.
export interface LoopWatch {
  readonly maxGap: number
  readonly ticks: number
  /** Stops measuring now (the teardown stops it otherwise). */
  stop(): void
}

export function watchLoop(t: { teardown(fn: () => void): void }): LoopWatch {
  let last = Date.now()
  const timer = setInterval(() => {
    const now = Date.now()
    state.maxGap = Math.max(state.maxGap, now - last)
    last = now
    state.ticks++
  }, 1)
  const state = { maxGap: 0, ticks: 0, stop: () => clearInterval(timer) }
  t.teardown(state.stop)
  return state
}
