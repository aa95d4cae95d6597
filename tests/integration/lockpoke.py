"""lockpoke.py - what a member of the service group can do to lock.mdb (it is 0660, as LMDB requires): write bytes into its header, then put them back.  For scenario fault_lock_corrupt.

    lockpoke.py DIR check            the layout below holds for this LMDB (exit 3 if not)
    lockpoke.py DIR show             magic, format, txnid, readers; data.mdb's last commit
    lockpoke.py DIR save FILE        keep the header words (magic, format)
    lockpoke.py DIR readers N        write the reader count
    lockpoke.py DIR txnid N          write the last transaction id
    lockpoke.py DIR random SEED      random bytes over magic, format, txnid and count
    lockpoke.py DIR restore FILE     put back: the saved header words, the transaction
                                     id of data.mdb's newest meta page, a count that
                                     covers every slot in use

Offsets: LMDB 0.9's MDB_txninfo on Linux x86-64 (magic 0, format 4, the
reader mutex 8..48, txnid 48, reader count 56, the writer mutex at 64,
slots of 64 bytes from 128, a slot's pid at +8).  The mutexes are left
alone: glibc's robust mutexes are not this test's subject (a held writer
mutex is scenario hung_daemon's).  data.mdb's meta pages: page 0 and 1,
mm_psize at 40, mm_txnid at 144 of each.
"""
import os
import random
import struct
import sys

MAGIC = 0xBEEFC0DE
OFF_TXNID, OFF_READERS, OFF_SLOTS, SLOT, SLOT_PID = 48, 56, 128, 64, 8


def data_last(d):
    with open(os.path.join(d, "data.mdb"), "rb") as f:
        p0 = f.read(4096)
        psize = struct.unpack_from("<I", p0, 40)[0]
        f.seek(psize)
        p1 = f.read(160)
    ids = []
    for p in (p0, p1):
        if struct.unpack_from("<I", p, 16)[0] != MAGIC:
            sys.exit("data.mdb: meta page without LMDB's magic")
        ids.append(struct.unpack_from("<Q", p, 144)[0])
    return max(ids)


def lock(d, mode="rb"):
    return open(os.path.join(d, "lock.mdb"), mode)


def header(d):
    with lock(d) as f:
        b = f.read(64)
    magic, fmt = struct.unpack_from("<II", b, 0)
    txnid = struct.unpack_from("<Q", b, OFF_TXNID)[0]
    readers = struct.unpack_from("<I", b, OFF_READERS)[0]
    return magic, fmt, txnid, readers


def write(d, off, fmt, value):
    with lock(d, "r+b") as f:
        f.seek(off)
        f.write(struct.pack(fmt, value))


def main():
    d, cmd = sys.argv[1], sys.argv[2]
    if cmd == "check":
        magic, fmt, txnid, readers = header(d)
        last = data_last(d)
        size = os.path.getsize(os.path.join(d, "lock.mdb"))
        ok = magic == MAGIC and txnid in (last, last - 1) and readers <= (size - OFF_SLOTS) // SLOT
        print("magic=%#x format=%#x txnid=%d readers=%d data_last=%d" % (magic, fmt, txnid, readers, last))
        sys.exit(0 if ok else 3)
    elif cmd == "show":
        magic, fmt, txnid, readers = header(d)
        print("magic=%#x format=%#x txnid=%d readers=%d data_last=%d"
              % (magic, fmt, txnid, readers, data_last(d)))
    elif cmd == "save":
        with lock(d) as f:
            b = f.read(8)
        with open(sys.argv[3], "wb") as f:
            f.write(b)
    elif cmd == "readers":
        write(d, OFF_READERS, "<I", int(sys.argv[3]))
    elif cmd == "txnid":
        write(d, OFF_TXNID, "<Q", int(sys.argv[3]))
    elif cmd == "random":
        rnd = random.Random(int(sys.argv[3]))
        with lock(d, "r+b") as f:
            f.seek(0)
            f.write(bytes(rnd.randrange(256) for _ in range(8)))
            f.seek(OFF_TXNID)
            f.write(bytes(rnd.randrange(256) for _ in range(12)))
    elif cmd == "restore":
        with open(sys.argv[3], "rb") as f:
            saved = f.read(8)
        with lock(d, "r+b") as f:
            f.seek(0)
            f.write(saved)
            f.seek(OFF_TXNID)
            f.write(struct.pack("<Q", data_last(d)))
            size = os.fstat(f.fileno()).st_size
            f.seek(0)
            b = f.read(size)
            top = 0
            for i in range((size - OFF_SLOTS) // SLOT):
                if struct.unpack_from("<I", b, OFF_SLOTS + i * SLOT + SLOT_PID)[0]:
                    top = i + 1
            f.seek(OFF_READERS)
            f.write(struct.pack("<I", top))
    else:
        sys.exit("lockpoke: unknown command " + cmd)


main()
