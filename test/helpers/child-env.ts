/**
 * The environment for a child process whose output a test reads as plain text.
 * tap sets FORCE_COLOR when it runs on a terminal; a child Node that inherits it
 * colours what console.log prints (`true` becomes "\x1b[33mtrue\x1b[39m"), so a
 * suite that passes piped would fail in a terminal. NO_COLOR is left as it is:
 * tests that check colour set it themselves. XDG_CURRENT_DESKTOP goes too.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (!('FORCE_COLOR' in extra)) delete env.FORCE_COLOR
  // On a GNOME desktop doctor adds a proxy hint (ts/proxy-env.ts desktopProxyHint) that tests
  // reading its exact lines do not expect: tests that check the hint set the variable themselves.
  if (!('XDG_CURRENT_DESKTOP' in extra)) delete env.XDG_CURRENT_DESKTOP
  return env
}
