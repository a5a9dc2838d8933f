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
 * So set-up steps take turns: a step runs at once while this turn has spent
 * less than the budget on set-up; after that the stream waits in a queue,
 * which a setImmediate drains in later turns, oldest first, one budget per
 * turn. Timers, I/O of open connections and everything else run in between.
 * Steady-state reads and writes are not metered: each is bounded by the
 * consumer's own buffers, and metering would cost the hot path.
 *
 * OSTLS_SETUP_BUDGET_MS overrides the budget (0: no metering).
 */

const envBudget = Number(process.env.OSTLS_SETUP_BUDGET_MS)
const BUDGET_MS = Number.isFinite(envBudget) && envBudget >= 0 ? envBudget : 1

/** The method a queued stream is driven by (a symbol: not part of TLSStream's public API). */
export const runSetupStep: unique symbol = Symbol('ostls.runSetupStep')

/** What the queue needs of a stream: run its set-up step now. */
export interface SetupStep {
  [runSetupStep](): void
}

/** Start of this turn's set-up time (performance.now()), or -1 when no turn is open. */
let turnStart = -1
let immediate: NodeJS.Immediate | null = null
const queue: SetupStep[] = []
const queued = new Set<SetupStep>()

/** The check phase ends the turn; then the queue gets the next turn's budget. */
function endTurn(): void {
  immediate = null
  turnStart = -1
  if (queue.length === 0) return
  openTurn()
  let i = 0
  while (i < queue.length && performance.now() - turnStart < BUDGET_MS) {
    const step = queue[i++]
    queued.delete(step)
    step[runSetupStep]()
  }
  queue.splice(0, i)
  // Nothing left waiting: the next step need not queue behind this turn.
  if (queue.length === 0) turnStart = -1
}

function openTurn(): void {
  turnStart = performance.now()
  immediate ??= setImmediate(endTurn)
}

/**
 * true: run the step now. false: the step was queued (or already was) and
 * its stream is driven from the queue in a later turn.
 */
export function admitSetupStep(step: SetupStep): boolean {
  if (BUDGET_MS === 0) return true
  if (queued.has(step)) return false
  if (turnStart < 0) {
    openTurn()
    return true
  }
  if (queue.length === 0 && performance.now() - turnStart < BUDGET_MS) return true
  queue.push(step)
  queued.add(step)
  immediate ??= setImmediate(endTurn)
  return false
}

/** A stream that ends while queued leaves the queue (its step would do nothing). */
export function forgetSetupStep(step: SetupStep): void {
  if (!queued.delete(step)) return
  const i = queue.indexOf(step)
  if (i >= 0) queue.splice(i, 1)
}
