/**
 * A budget of JS-thread time per event-loop turn for the steps ostls starts
 * itself: connection set-up, and the wake-ups of open connections.
 *
 * Each step (start a connection, feed the handshake, read what arrived) is
 * short, but a program with a thousand connections gets a thousand steps in
 * one turn: their first steps run back to back after the code that called
 * connect(), and their sockets become ready together, so libuv hands them to
 * us in one poll phase. That holds for open connections too: a thousand
 * replies that end together arrive in one poll phase, and each one's read,
 * 'end' listener and destroy() ran back to back (measured: 58 ends in one
 * 15 ms stretch, 30 ms stretches in all). Either way timers and every other
 * callback wait for the whole batch (Node's own net and tls do the same).
 *
 * So steps take turns: a turn's first step runs at once, and later ones wait
 * in a queue, drained oldest first while less than the budget has passed
 * since that first step; what is left waits for later turns (a setImmediate
 * drains it, one budget per turn). Timers and everything else run in
 * between. A connect() call that alone used the budget (a process's first
 * takes a few ms: code compiled on first use) queues its first step too. A
 * lone busy connection is never held back: a turn's first step always runs,
 * and a step moves as much as the consumer's buffers take.
 *
 * OSTLS_TURN_BUDGET_MS overrides the budget (0: no metering; the older name
 * OSTLS_SETUP_BUDGET_MS is still read).
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

const envText = process.env.OSTLS_TURN_BUDGET_MS ?? process.env.OSTLS_SETUP_BUDGET_MS
const envBudget = envText ? Number(envText) : NaN
const BUDGET_MS = Number.isFinite(envBudget) && envBudget >= 0 ? envBudget : 1

/** The method a queued stream is driven by (a symbol: not part of TLSStream's public API). */
export const runStep: unique symbol = Symbol('ostls.runStep')

/** What the queue needs of a stream: run its step now. */
export interface Step {
  [runStep](): void
}

/**
 * Start of this turn's metered time (now()); NONE before the
 * turn's first step; WAITING while the queue waits for the next turn to
 * drain it (steps arriving meanwhile queue behind it, oldest first).
 */
const NONE = -1
const WAITING = -2
let turnStart = NONE
let immediate: NodeJS.Immediate | null = null
let draining = false
const queue: Step[] = []
const queued = new Set<Step>()

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
  drainSoon()
}

/**
 * Queued steps run one at a time, each after everything the one before it
 * left on the tick queue: a step's 'end' and 'close' events and the destroy()
 * a listener calls in them all run there after the step returns. Draining in
 * one loop would check the budget before that work ran (a burst of 34 reads
 * in one budget brought 15 ends with them, 6 ms), so the next step is a tick
 * queued after the step's own. (The promise callbacks they settle run once
 * the drain stops; a microtask hop per step as well cost 0.5 KiB of RSS per
 * idle connection at 10,000, and the event-loop gap no less.)
 */
function drainSoon(): void {
  if (draining) return
  draining = true
  process.nextTick(drainOne)
}

function drainOne(): void {
  if (queue.length === 0 || turnStart < 0 || now() - turnStart >= BUDGET_MS) {
    draining = false
    // After this turn's check phase (the drain it started ran out of budget
    // or of steps), the next step must not count on this turn's clock.
    if (immediate === null) {
      turnStart = queue.length > 0 ? WAITING : NONE
      if (queue.length > 0) endTurnSoon()
    }
    return
  }
  const step = queue.shift() as Step
  queued.delete(step)
  try {
    step[runStep]() // may throw: a listener of the stream's events runs in it
  } finally {
    process.nextTick(drainOne)
  }
}

/** The budget's clock (ms), for a caller whose work began before it asks. */
export function stepClock(): number {
  return now()
}

/**
 * true: run the step now. false: the step was queued (or already was) and
 * its stream is driven from the queue in a later turn. startedAt: when the
 * caller's own work began (a connect() call), if before this call.
 */
export function admitStep(step: Step, startedAt?: number): boolean {
  if (BUDGET_MS === 0) return true
  if (queued.has(step)) return false
  // A turn's first step runs at once (unless the caller's own work already
  // used the budget); the others queue behind it, since what it left behind
  // (see drainSoon) has not run yet.
  if (turnStart === NONE) {
    turnStart = startedAt ?? now()
    endTurnSoon()
    if (startedAt === undefined || now() - startedAt < BUDGET_MS) return true
  }
  queue.push(step)
  queued.add(step)
  if (turnStart >= 0) drainSoon()
  else endTurnSoon()
  return false
}

/**
 * admitStep for the wake-up of a stream that is the only one waiting for I/O:
 * no other stream can step in this turn, so unless a metered turn is under
 * way (or steps wait in the queue) it runs without opening one. Opening a
 * turn costs a setImmediate, a trip into JS from the check phase: in 1 KiB
 * ping-pong on one connection that was 12% of the CPU per message (one
 * setImmediate per message; bench/README.md). A connect() or
 * another stream's wake-up later in the same turn opens a turn of its own:
 * at most this one step goes unmetered.
 */
export function admitLoneStep(step: Step): boolean {
  if (turnStart === NONE && queue.length === 0) return true
  return admitStep(step)
}

/** A stream that ends while queued leaves the queue (its step would do nothing). */
export function forgetStep(step: Step): void {
  if (!queued.delete(step)) return
  const i = queue.indexOf(step)
  if (i >= 0) queue.splice(i, 1)
}

/** Two steps that do nothing, one run at once and one queued: V8 compiles this file's functions on first use. */
export function warmTurnCode(): void {
  for (let i = 0; i < 2; i++) admitStep({ [runStep]() {} })
}
