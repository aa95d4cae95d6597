'use strict';
// The C library's own sentence for a failure (pc_errdetail) in the error's
// message, after the code's text: a data.mdb that is no LMDB file, and
// lock.mdb corrupt in a copy of the cache that only this process has open
// (the daemon's own lock file is left alone).
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const pricecache = require('..');
const { env, childEnv } = require('./helpers');

// LMDB 0.9's lock.mdb on Linux x86-64, as tests/integration/lockpoke.py
// and tests/unit/test_lockfile.c write it (the latter checks the offsets
// against LMDB): magic at 0, last transaction id at 48, reader count at 56.
const LOCK_MAGIC = 0xbeefc0de;
const OFF_TXNID = 48;
const OFF_READERS = 56;

function tmpdir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pcnode-err-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

// An Error (not a RangeError) with the code and errno of PC_EFORMAT, whose
// message is the code's text followed by the library's sentence.
function isFormat(sentence) {
  return (e) => {
    assert.equal(e.constructor, Error);
    assert.equal(e.code, 'PC_EFORMAT');
    assert.equal(e.errno, pricecache.codes.PC_EFORMAT);
    assert.ok(e.message.includes(`${pricecache.strerror(e.errno)} (${sentence}`), e.message);
    return true;
  };
}

test('a data.mdb that is no LMDB file: the message names it', (t) => {
  const junk = tmpdir(t);
  fs.writeFileSync(path.join(junk, 'data.mdb'), Buffer.alloc(8192, 'x'));
  assert.throws(() => pricecache.open(junk), isFormat('data.mdb: not an LMDB file'));
});

test('lock.mdb corrupt: the message says which check refused it', (t) => {
  if (process.arch !== 'x64') {
    t.skip("lock.mdb's offsets are known for x86-64 only");
    return;
  }
  const dir = tmpdir(t);
  execFileSync('mdb_copy', [env.cache, dir], { env: childEnv() });
  const r = pricecache.open(dir);
  t.after(() => r.close());
  assert.equal(r.get('acme', 's1', 'item10').cents, 1);
  const fd = fs.openSync(path.join(dir, 'lock.mdb'), 'r+');
  t.after(() => fs.closeSync(fd));
  const hdr = Buffer.alloc(64);
  fs.readSync(fd, hdr, 0, 64, 0);
  if (hdr.readUInt32LE(0) !== LOCK_MAGIC) {
    t.skip("lock.mdb is not LMDB 0.9's layout here");
    return;
  }
  const saved = Buffer.from(hdr);
  const ff = Buffer.alloc(8, 0xff);

  // A reader count beyond the table: opening again (which walks the table
  // to clear dead processes' slots) is refused.
  fs.writeSync(fd, ff, 0, 4, OFF_READERS);
  try {
    assert.throws(() => pricecache.open(dir), isFormat('lock.mdb: reader count 4294967295 beyond the table'));
  } finally {
    fs.writeSync(fd, saved, OFF_READERS, 4, OFF_READERS);
  }

  // A transaction id beyond data.mdb's last commit: every lookup is refused.
  const why = "lock.mdb: transaction id 18446744073709551615 beyond data.mdb's last commit";
  fs.writeSync(fd, ff, 0, 8, OFF_TXNID);
  try {
    assert.throws(() => r.get('acme', 's1', 'item10'), isFormat(why));
    assert.throws(() => r.getMany('acme', 's1', ['item10', 'item11']), isFormat(why));
  } finally {
    fs.writeSync(fd, saved, OFF_TXNID, 8, OFF_TXNID);
  }

  // The bytes back: reads go on, and a later failure says only its own.
  assert.equal(r.get('acme', 's1', 'item10').cents, 1);
  assert.throws(() => r.get('nosuch', 's1', 'x'), {
    code: 'PC_ENOCHAIN',
    message: `pricecache: get nosuch/s1/x: ${pricecache.strerror(pricecache.codes.PC_ENOCHAIN)}`,
  });
});
