/**
 * The one place that touches koffi.node.poll (libuv's uv_poll, undocumented in
 * koffi, hence pinned and wrapped here). A Watcher follows one connection's OS
 * handle: it reuses its uv_poll while the handle stays the same and only
 * restarts it when the events change, so steady-state I/O costs no extra
 * syscalls.
 *
 * libuv must never see a handle the library has closed: close() stops and
 * releases the uv_poll synchronously (uv_close removes the fd from epoll at
 * once), and callers close the watcher before any call that may close the
 * handle (see tls_pollhandle in c/tls_client.h).
 *
 * koffi calls back as (status, events). A negative status is libuv reporting
 * an error on the handle (POLLERR: a reset, say); libuv has then already
 * stopped the poll, so the watcher marks itself stopped (the next watch()
 * restarts it) and tells the owner with error: true: the next library call
 * on the connection reports what happened.
 */
import koffi from 'koffi'
import { WANT_READ, WANT_WRITE } from './native'

type PollHandle = ReturnType<typeof koffi.node.poll>
/** What became ready (koffi's PollEvents), and whether libuv reported an error (status < 0). */
export interface PollEvents {
  readable: boolean
  writable: boolean
  disconnect: boolean
  /** Set (true) only when libuv reported an error; koffi's own object has no such field. */
  error?: boolean
}

type KoffiEvents = { readable: boolean; writable: boolean; disconnect: boolean }
/** koffi's index.d.ts declares the callback as (events); the C++ (uv.cc, PollHandle::OnPoll) passes (status, events). */
type KoffiCallback = Parameters<PollHandle["start"]>[0]

export class Watcher {
  #poll: PollHandle | null = null
  #handle = -1
  #events = 0
  #running = false
  #refed = true
  readonly #onPoll: (status: number, ev: KoffiEvents) => void

  /** onReady must not hold the owner strongly if the owner is to be collectable while idle. */
  constructor(onReady: (ev: PollEvents) => void) {
    this.#onPoll = (status, ev) => {
      if (status < 0) {
        // libuv stopped the poll before calling us.
        this.#running = false
        return onReady({ readable: true, writable: true, disconnect: true, error: true })
      }
      // koffi's object as it is: no second allocation per wake on the hot path.
      onReady(ev)
    }
  }

  /** Waits for events (WANT_READ/WANT_WRITE) on handle; replaces any earlier wait. */
  watch(handle: number, events: number): void {
    events &= WANT_READ | WANT_WRITE
    if (events === 0) return this.stop()
    if (this.#poll && handle !== this.#handle) this.close()
    if (this.#running && events === this.#events) return
    const opts = { readable: (events & WANT_READ) !== 0, writable: (events & WANT_WRITE) !== 0 }
    const cb = this.#onPoll as unknown as KoffiCallback
    if (!this.#poll) {
      this.#poll = koffi.node.poll(handle, opts, cb)
      this.#handle = handle
      if (!this.#refed) this.#poll.unref()
    } else {
      this.#poll.start(opts, cb)
    }
    this.#events = events
    this.#running = true
  }

  stop(): void {
    if (this.#running && this.#poll) this.#poll.stop()
    this.#running = false
  }

  close(): void {
    if (this.#poll) this.#poll.close()
    this.#poll = null
    this.#handle = -1
    this.#running = false
  }

  get active(): boolean {
    return this.#running
  }

  /** false after unref(): the poll does not keep the process alive. */
  get refed(): boolean {
    return this.#refed
  }

  ref(): void {
    this.#refed = true
    this.#poll?.ref()
  }

  unref(): void {
    this.#refed = false
    this.#poll?.unref()
  }
}
