/**
 * A budget of JS-thread time per event-loop turn for connection set-up.
 *
 * Each set-up step (start a connection, feed the handshake, verify) is short,
 * but a program that opens a thousand connections at once gets a thousand
 * steps in one turn: their first steps run back to back after the code that
 * called connect(), and their sockets become ready together, so libuv hands
 * them to us in one poll phase. Either way timers and every other callback
 * wait for the whole batch (hundreds of ms; Node's own tls does the same).
 *
 * So set-up steps take turns: a step runs at once while less than the budget
 * has passed since this turn's first step; after that the stream waits in a
 * queue, which a setImmediate drains in later turns, oldest first, one budget
 * per turn. Timers, I/O of open connections and everything else run in
 * between. A process's first connect() call alone takes a few ms (code
 * compiled on first use), so its first step waits for the next turn too.
 * Steady-state reads and writes are not metered: each is bounded by the
 * consumer's own buffers, and metering would cost the hot path.
 *
 * OSTLS_SETUP_BUDGET_MS overrides the budget (0: no metering).
 */

/**
 * Milliseconds from an arbitrary origin. Not performance.now(): the global
 * `performance` loads perf_hooks on first use, 1.7-2 ms of a process's first
 * connect() (measured with the JS thread's CPU clock).
 */
function now(): number {
  const [s, ns] = process.hrtime()
  return s * 1e3 + ns / 1e6
}

const envBudget = process.env.OSTLS_SETUP_BUDGET_MS ? Number(process.env.OSTLS_SETUP_BUDGET_MS) : NaN
const BUDGET_MS = Number.isFinite(envBudget) && envBudget >= 0 ? envBudget : 1

/** The method a queued stream is driven by (a symbol: not part of TLSStream's public API). */
export const runSetupStep: unique symbol = Symbol('ostls.runSetupStep')

/** What the queue needs of a stream: run its set-up step now. */
export interface SetupStep {
  [runSetupStep](): void
}

/**
 * Start of this turn's set-up time (now()); NONE before the
 * turn's first step; WAITING while the queue waits for the next turn to
 * drain it (steps arriving meanwhile queue behind it, oldest first).
 */
const NONE = -1
const WAITING = -2
let turnStart = NONE
let immediate: NodeJS.Immediate | null = null
const queue: SetupStep[] = []
const queued = new Set<SetupStep>()

function endTurnSoon(): void {
  immediate ??= setImmediate(endTurn)
}

/**
 * The check phase ends the turn. A turn that has had its budget leaves the
 * queue to the next one: an immediate set from an immediate runs only after
 * the next timers and poll phase, so a long connect() call and the first
 * steps it queued never share one stretch of the loop.
 */
function endTurn(): void {
  immediate = null
  const spent = turnStart >= 0 ? now() - turnStart : 0
  const waited = turnStart === WAITING
  turnStart = NONE
  if (queue.length === 0) return
  if (!waited && spent >= BUDGET_MS) {
    turnStart = WAITING
    endTurnSoon()
    return
  }
  turnStart = now()
  let i = 0
  try {
    while (i < queue.length && now() - turnStart < BUDGET_MS) {
      const step = queue[i++]
      queued.delete(step)
      step[runSetupStep]() // may throw: a listener of the stream's events runs in it
    }
  } finally {
    queue.splice(0, i)
  }
  if (queue.length > 0) {
    turnStart = WAITING
    endTurnSoon()
  } else {
    // Nothing left waiting: the next step need not queue behind this turn.
    turnStart = NONE
  }
}

/** The set-up budget's clock (ms), for a caller whose work began before it asks. */
export function setupClock(): number {
  return now()
}

/**
 * true: run the step now. false: the step was queued (or already was) and
 * its stream is driven from the queue in a later turn. startedAt: when the
 * caller's own set-up work began (a connect() call), if before this call.
 */
export function admitSetupStep(step: SetupStep, startedAt?: number): boolean {
  if (BUDGET_MS === 0) return true
  if (queued.has(step)) return false
  if (turnStart === NONE) {
    turnStart = startedAt ?? now()
    endTurnSoon()
    return true
  }
  if (turnStart >= 0 && queue.length === 0 && now() - turnStart < BUDGET_MS) return true
  queue.push(step)
  queued.add(step)
  endTurnSoon()
  return false
}

/** A stream that ends while queued leaves the queue (its step would do nothing). */
export function forgetSetupStep(step: SetupStep): void {
  if (!queued.delete(step)) return
  const i = queue.indexOf(step)
  if (i >= 0) queue.splice(i, 1)
}
