/**
 * The environment for a child process whose output a test reads as plain text.
 * tap sets FORCE_COLOR when it runs on a terminal; a child Node that inherits it
 * colours what console.log prints (`true` becomes "\x1b[33mtrue\x1b[39m"), so a
 * suite that passes piped would fail in a terminal. NO_COLOR is left as it is:
 * tests that check colour set it themselves.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (!('FORCE_COLOR' in extra)) delete env.FORCE_COLOR
  return env
}
