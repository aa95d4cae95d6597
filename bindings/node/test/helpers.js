'use strict';
// Shared by the tests: the environment tests/integration/t_binding_node.sh
// sets, SQL through psql, the CLI, and polling with a deadline.
const { execFile, execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');

const env = {
  cache: process.env.PRICECACHE_PATH,
  dsn: process.env.PC_TEST_DSN,
  bin: process.env.PC_TEST_BIN,
  conf: process.env.PC_TEST_CONF,
  work: process.env.PC_TEST_W,
};
for (const [k, v] of Object.entries(env)) {
  if (!v) throw new Error(`test environment incomplete: ${k} unset (run through tests/integration/t_binding_node.sh)`);
}

const run = promisify(execFile);

// The environment of the programs the tests start: without the ASan
// runtime the scenario preloads into node for a sanitizer build of the
// library (psql hangs with it), with the sanitizer options it had.
function childEnv() {
  const e = { ...process.env };
  delete e.LD_PRELOAD;
  if (e.PC_TEST_ASAN_OPTIONS !== undefined) e.ASAN_OPTIONS = e.PC_TEST_ASAN_OPTIONS;
  return e;
}

/** Run SQL without blocking the event loop. */
async function sql(text) {
  const { stdout } = await run('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', env.dsn, '-c', text], {
    env: childEnv(),
  });
  return stdout.trim();
}

/** The C library's answer through the CLI (pricecache -d CACHE ...). */
function cli(args, input) {
  return execFileSync(path.join(env.bin, 'pricecache'), ['-d', env.cache, ...args], {
    input,
    encoding: 'utf8',
    env: childEnv(),
  });
}

/** Poll cond (sync or async) every 20 ms until true; throw after ms. */
async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}

/** Stop the running daemon (SIGTERM) and start another; pids recorded for the harness. */
let daemonPid = Number(process.env.PC_TEST_DAEMON_PID);
async function restartDaemon() {
  if (daemonPid && alive(daemonPid)) {
    process.kill(daemonPid, 'SIGTERM');
    await waitFor(() => !alive(daemonPid), 20000, `daemon ${daemonPid} to exit`);
  }
  const log = fs.openSync(path.join(env.work, 'daemon.log'), 'a');
  const child = spawn(path.join(env.bin, 'pricecached'), ['-c', env.conf], {
    stdio: ['ignore', 'ignore', log],
    detached: true,
    env: childEnv(),
  });
  fs.closeSync(log);
  child.unref();
  daemonPid = child.pid;
  fs.appendFileSync(path.join(env.work, 'pids'), `${child.pid}\n`);
  return child.pid;
}

module.exports = { env, childEnv, sql, cli, waitFor, restartDaemon };
