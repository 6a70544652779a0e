// SPDX-License-Identifier: GPL-2.0
/*
 * crashio: the workload and the checker of the crash test
 * (tests/boot/010-crash).  Runs inside the lab VM against a dm-tier volume.
 *
 *   crashio write DEV LOG ROUND SEED EXTENT_BYTES
 *	O_DIRECT writes of self-describing 4 KiB blocks (runs of 1..16
 *	blocks, some crossing extents, some with RWF_DSYNC i.e. REQ_FUA),
 *	whole-extent discards and fdatasync() calls, until the VM is crashed.
 *	LOG (on the host-shared $LAB_OUT, where write() returns only once the
 *	host has the data) gets, in order:
 *	  "D <extent> <seq>"  before each discard is issued;
 *	  "W <block> <seq>"   for the writes since the last durable point,
 *	  "F <seq>"           written as one batch right after a flush (or a
 *			      RWF_DSYNC write) completed: everything before
 *			      <seq> is durable.
 *	With CRASHIO_FUA=self in the environment (power-cut replay,
 *	tests/kernel/057-log-writes-replay.sh) a RWF_DSYNC write makes only
 *	itself durable, as on a real device that loses unflushed writes; it
 *	is logged as
 *	  "U <block> <seq>"   one line per block of the write, after it
 *			      completed: that block is durable with <seq>.
 *	(The crash test's default counts on the lab: every acknowledged write
 *	reached QEMU and survives the guest, so a FUA write is a durable point
 *	for all of them.)
 *   crashio verify DEV STATE LOG ROUND EXTENT_BYTES
 *	Replays STATE (what was durable and read back last time, absent on
 *	the first round) and LOG into the expected content of each block and
 *	reads the whole device:
 *	  - a block whose last durable operation was a write must hold that
 *	    write or a later one of the same block (written after the last
 *	    durable point, it may or may not have survived);
 *	  - a block whose last durable operation was a discard (or that was
 *	    never durably written) must read zeros or a later write of it;
 *	    zeros are also fine after a discard issued since the last
 *	    durable point;
 *	  - operations are applied when they become durable only if newer
 *	    than the block's durable state (a "U" line may make a block
 *	    durable before earlier pending operations of it);
 *	  - anything else - zeros where data was durable, an older version,
 *	    another block's data, garbage - is a failure.
 *	Then fdatasync()s the device and writes STATE anew from what it
 *	read, so the next round starts from the device's actual content.
 *	Prints "verified N blocks (D data, Z zero)" and exits 0, or lists
 *	the bad blocks and exits 1.
 *
 * Sequence numbers are ROUND << 32 | counter, so they grow across rounds.
 * A block of a write holds: magic, block number, sequence number, then
 * bytes derived from both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define BLK 4096
#define MAGIC 0x314b4c4248535243ULL /* "CRSHBLK1" */
#define MAX_RUN 16

#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crashio: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t xs_state;
static uint64_t rnd(void)
{
	uint64_t x = xs_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return xs_state = x;
}

static void fill_block(unsigned char *b, uint64_t blockno, uint64_t seq)
{
	uint64_t h[3] = { MAGIC, blockno, seq };
	uint64_t x = blockno * 0x9e3779b97f4a7c15ULL ^ seq ^ 0x5bd1e995ULL;
	unsigned int i;

	memcpy(b, h, sizeof(h));
	for (i = sizeof(h); i < BLK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b + i, &x, 8);
	}
}

static bool is_zero(const unsigned char *b)
{
	static const unsigned char z[BLK];

	return !memcmp(b, z, BLK);
}

/* Valid block content: its block number and sequence number, else false. */
static bool parse_block(const unsigned char *b, uint64_t *blockno, uint64_t *seq)
{
	static unsigned char want[BLK];
	uint64_t h[3];

	memcpy(h, b, sizeof(h));
	if (h[0] != MAGIC)
		return false;
	fill_block(want, h[1], h[2]);
	if (memcmp(want, b, BLK))
		return false;
	*blockno = h[1];
	*seq = h[2];
	return true;
}

static uint64_t dev_bytes(int fd)
{
	struct stat sb;
	uint64_t n;

	if (!ioctl(fd, BLKGETSIZE64, &n))
		return n;
	/* A plain file (for trying crashio out off the lab). */
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
		die("BLKGETSIZE64: %s", strerror(errno));
	return sb.st_size;
}

static int open_dev(const char *dev)
{
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd < 0 && errno == EINVAL)
		fd = open(dev, O_RDWR);	/* a file on tmpfs */
	if (fd < 0)
		die("%s: %s", dev, strerror(errno));
	return fd;
}

static int discard(int fd, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	struct stat sb;

	if (!fstat(fd, &sb) && S_ISREG(sb.st_mode))
		return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	return ioctl(fd, BLKDISCARD, range);
}

/* ------------------------------------------------------------ workload */

static int logfd;
static char *batch;
static size_t batch_len, batch_cap;

static void batch_add(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (batch_cap - batch_len < 64) {
		batch_cap = batch_cap ? 2 * batch_cap : 65536;
		batch = realloc(batch, batch_cap);
		if (!batch)
			die("out of memory");
	}
	va_start(ap, fmt);
	n = vsnprintf(batch + batch_len, batch_cap - batch_len, fmt, ap);
	va_end(ap);
	batch_len += n;
}

static void log_write(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(logfd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("log write: %s", strerror(errno));
		buf += n;
		len -= n;
	}
}

/* A durable point was reached: log the writes before it and the mark. */
/*
 * CRASHIO_FUA=self (dm-log-writes): blocks written or discarded since the
 * last flush.  dm-log-writes logs a write that is not FUA only at the next
 * flush, but a FUA write at once (its log ordering, see the kernel's
 * log-writes.rst), so an earlier unflushed write of the same block lands
 * after a later FUA write in the replay: a stale-over-new state no device
 * produces.  A FUA write over such blocks is preceded by a flush.
 */
static unsigned char *unflushed;
static uint64_t unflushed_len;

static void unflushed_mark(uint64_t b, uint64_t n)
{
	for (; n; b++, n--)
		unflushed[b / 8] |= 1U << (b % 8);
}

static bool unflushed_any(uint64_t b, uint64_t n)
{
	for (; n; b++, n--)
		if (unflushed[b / 8] & (1U << (b % 8)))
			return true;
	return false;
}

static void durable(uint64_t next_seq)
{
	if (unflushed)
		memset(unflushed, 0, unflushed_len);
	batch_add("F %" PRIu64 "\n", next_seq);
	log_write(batch, batch_len);
	batch_len = 0;
}

static __attribute__((noreturn)) void cmd_write(int argc, char **argv)
{
	const char *dev = argv[2], *log = argv[3];
	uint64_t round = strtoull(argv[4], NULL, 0), seed = strtoull(argv[5], NULL, 0);
	uint64_t ext_bytes = strtoull(argv[6], NULL, 0);
	uint64_t seq = round << 32 | 1, nblocks, bpe, nexts;
	uint64_t nw = 0, nd = 0, nf = 0, nfua = 0, limit;
	unsigned char *buf;
	int fd;
	bool fua_self = getenv("CRASHIO_FUA") && !strcmp(getenv("CRASHIO_FUA"), "self");

	if (argc != 7)
		die("usage: crashio write DEV LOG ROUND SEED EXTENT_BYTES");
	fd = open_dev(dev);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (logfd < 0)
		die("%s: %s", log, strerror(errno));
	nblocks = dev_bytes(fd) / BLK;
	bpe = ext_bytes / BLK;
	nexts = nblocks / bpe;
	if (!bpe || !nexts)
		die("bad sizes");
	if (posix_memalign((void **)&buf, BLK, MAX_RUN * BLK))
		die("out of memory");
	if (fua_self) {
		unflushed_len = nblocks / 8 + 1;
		unflushed = calloc(1, unflushed_len);
		if (!unflushed)
			die("out of memory");
	}
	xs_state = seed * 0x9e3779b97f4a7c15ULL + round + 1;
	/* Stop after a while when given a limit (off the lab; in the lab the
	 * crash stops it). */
	limit = getenv("CRASHIO_OPS") ? strtoull(getenv("CRASHIO_OPS"), NULL, 0) : 0;

	for (;;) {
		unsigned int op = rnd() % 100;

		if (op < 4) {
			/* Discard one whole extent; the intent is logged first. */
			uint64_t e = rnd() % nexts;

			/* The intent goes out with the pending batch, in order. */
			batch_add("D %" PRIu64 " %" PRIu64 "\n", e, seq);
			log_write(batch, batch_len);
			batch_len = 0;
			if (discard(fd, e * ext_bytes, ext_bytes))
				die("discard extent %" PRIu64 ": %s", e, strerror(errno));
			if (unflushed)
				unflushed_mark(e * bpe, bpe);
			seq++;
			nd++;
		} else if (op < 16) {
			if (fdatasync(fd))
				die("fdatasync: %s", strerror(errno));
			durable(seq);
			nf++;
		} else {
			/* A run of blocks, now and then across an extent boundary. */
			unsigned int run = 1 + (rnd() % 4 ? 0 : rnd() % MAX_RUN), i;
			uint64_t b = rnd() % nblocks;
			bool fua = rnd() % 10 == 0;
			struct iovec iov;
			ssize_t n;

			if (rnd() % 8 == 0)
				b = (b / bpe + 1) * bpe - 1 - rnd() % 2;
			if (b + run > nblocks)
				b = nblocks - run;
			if (fua && unflushed && unflushed_any(b, run)) {
				if (fdatasync(fd))
					die("fdatasync: %s", strerror(errno));
				durable(seq);
				nf++;
			}
			for (i = 0; i < run; i++)
				fill_block(buf + i * BLK, b + i, seq + i);
			iov.iov_base = buf;
			iov.iov_len = (size_t)run * BLK;
			n = pwritev2(fd, &iov, 1, (off_t)(b * BLK), fua ? RWF_DSYNC : 0);
			if (n != (ssize_t)(run * BLK))
				die("write %u blocks at %" PRIu64 ": %s", run, b,
				    n < 0 ? strerror(errno) : "short write");
			for (i = 0; i < run; i++)
				batch_add("%c %" PRIu64 " %" PRIu64 "\n", fua && fua_self ? 'U' : 'W',
					  b + i, seq + i);
			if (unflushed && !fua)
				unflushed_mark(b, run);
			seq += run;
			nw++;
			if (fua && fua_self) {
				/* Only this write is durable: its lines go out now. */
				log_write(batch, batch_len);
				batch_len = 0;
				nfua++;
			} else if (fua) {
				/* An acknowledged FUA write: every earlier allocation is
				 * durable, and in the lab the data of every acknowledged
				 * write is (it reached QEMU, which survives the guest). */
				durable(seq);
				nfua++;
			}
		}
		if (limit && nw + nd + nf >= limit)
			exit(0);
		if ((nw + nd + nf) % 256 == 0) {
			fprintf(stderr, "crashio: %" PRIu64 " writes (%" PRIu64 " FUA), %" PRIu64
				" discards, %" PRIu64 " flushes\n", nw, nfua, nd, nf);
		}
	}
}

/* -------------------------------------------------------------- verify */

struct bstate {
	uint64_t seq;		/* of the last durable operation */
	uint64_t zero_after;	/* a pending discard: zeros acceptable (0: none) */
	bool data;		/* last durable operation: a write (else zeros) */
};

static int cmd_verify(int argc, char **argv)
{
	const char *dev = argv[2], *statef = argv[3], *log = argv[4];
	uint64_t round = strtoull(argv[5], NULL, 0), ext_bytes = strtoull(argv[6], NULL, 0);
	uint64_t nblocks, bpe, b, ndata = 0, nzero = 0, nbad = 0, durable_ops = 0;
	struct bstate *st;
	unsigned char *buf;
	char line[256], tmpname[4096];
	FILE *f;
	int fd;
	struct pend { char op; uint64_t x, seq; } *pend = NULL;
	size_t npend = 0, cpend = 0, i;

	if (argc != 7)
		die("usage: crashio verify DEV STATE LOG ROUND EXTENT_BYTES");
	fd = open_dev(dev);
	nblocks = dev_bytes(fd) / BLK;
	bpe = ext_bytes / BLK;
	st = calloc(nblocks, sizeof(*st));
	if (!st || posix_memalign((void **)&buf, BLK, 64 * BLK))
		die("out of memory");

	f = fopen(statef, "r");
	if (f) {
		uint64_t n = 0, s;
		int d;

		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%" SCNu64 " %d %" SCNu64, &b, &d, &s) != 3 || b >= nblocks)
				die("%s: bad line '%s'", statef, line);
			st[b].data = d;
			st[b].seq = s;
			n++;
		}
		fclose(f);
		if (n != nblocks)
			die("%s: %" PRIu64 " blocks, the device has %" PRIu64, statef, n, nblocks);
	}

	f = fopen(log, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char op;
			uint64_t x, s;

			if (!strchr(line, '\n'))
				break;	/* torn last line: the crash cut it */
			if (sscanf(line, "%c %" SCNu64 " %" SCNu64, &op, &x, &s) < 2)
				die("%s: bad line '%s'", log, line);
			if (op == 'U') {
				if (x >= nblocks)
					die("%s: bad line '%s'", log, line);
				if (s > st[x].seq) {
					st[x].data = true;
					st[x].seq = s;
				}
				durable_ops++;
				continue;
			}
			if (op == 'F') {
				for (i = 0; i < npend; i++) {
					struct pend *p = &pend[i];

					if (p->op == 'W') {
						if (p->seq > st[p->x].seq) {
							st[p->x].data = true;
							st[p->x].seq = p->seq;
						}
					} else {
						for (b = p->x * bpe; b < (p->x + 1) * bpe && b < nblocks; b++) {
							if (p->seq > st[b].seq) {
								st[b].data = false;
								st[b].seq = p->seq;
							}
						}
					}
				}
				durable_ops += npend;
				npend = 0;
				continue;
			}
			if ((op != 'W' && op != 'D') || (op == 'W' && x >= nblocks))
				die("%s: bad line '%s'", log, line);
			if (npend == cpend) {
				cpend = cpend ? 2 * cpend : 4096;
				pend = realloc(pend, cpend * sizeof(*pend));
				if (!pend)
					die("out of memory");
			}
			pend[npend++] = (struct pend){ op, x, s };
		}
		fclose(f);
	}
	/* Operations after the last durable point: discards allow zeros. */
	for (i = 0; i < npend; i++)
		if (pend[i].op == 'D')
			for (b = pend[i].x * bpe; b < (pend[i].x + 1) * bpe && b < nblocks; b++)
				st[b].zero_after = pend[i].seq;

	for (b = 0; b < nblocks; b += 64) {
		uint64_t n = nblocks - b < 64 ? nblocks - b : 64, j;
		ssize_t r = pread(fd, buf, n * BLK, (off_t)(b * BLK));

		if (r != (ssize_t)(n * BLK))
			die("read at block %" PRIu64 ": %s", b, r < 0 ? strerror(errno) : "short");
		for (j = 0; j < n; j++) {
			unsigned char *c = buf + j * BLK;
			struct bstate *s = &st[b + j];
			uint64_t cb, cs;
			const char *why = NULL;

			if (is_zero(c)) {
				if (s->data && !(s->zero_after > s->seq))
					why = "reads zeros, but a write of it was durable";
				else {
					s->data = false;
					s->seq = round << 32;
					nzero++;
				}
			} else if (!parse_block(c, &cb, &cs)) {
				why = "holds garbage";
			} else if (cb != b + j) {
				why = "holds the data of another block";
			} else if (cs < s->seq || (cs == s->seq && !s->data)) {
				why = "holds an older version than the durable one";
			} else {
				s->data = true;
				s->seq = cs;
				ndata++;
			}
			if (why) {
				if (nbad < 20)
					printf("BAD block %" PRIu64 " (extent %" PRIu64 "): %s "
					       "(durable: %s seq %#" PRIx64 "; found %s seq %#" PRIx64 ")\n",
					       b + j, (b + j) / bpe, why, s->data ? "data" : "zeros",
					       s->seq, is_zero(c) ? "zeros" : parse_block(c, &cb, &cs) ? "data" : "?",
					       parse_block(c, &cb, &cs) ? cs : 0);
				nbad++;
			}
		}
	}
	if (nbad) {
		printf("FAILED: %" PRIu64 " of %" PRIu64 " blocks wrong\n", nbad, nblocks);
		return 1;
	}
	if (fdatasync(fd))
		die("fdatasync: %s", strerror(errno));
	snprintf(tmpname, sizeof(tmpname), "%s.tmp", statef);
	f = fopen(tmpname, "w");
	if (!f)
		die("%s: %s", tmpname, strerror(errno));
	for (b = 0; b < nblocks; b++)
		fprintf(f, "%" PRIu64 " %d %" PRIu64 "\n", b, st[b].data, st[b].seq);
	if (fflush(f) || fsync(fileno(f)) || fclose(f))
		die("%s: %s", tmpname, strerror(errno));
	if (rename(tmpname, statef))
		die("rename %s: %s", tmpname, strerror(errno));
	printf("verified %" PRIu64 " blocks (%" PRIu64 " data, %" PRIu64 " zero); "
	       "%" PRIu64 " durable operations replayed, %zu after the last durable point\n",
	       nblocks, ndata, nzero, durable_ops, npend);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "write"))
		cmd_write(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return cmd_verify(argc, argv);
	fprintf(stderr, "usage: crashio write DEV LOG ROUND SEED EXTENT_BYTES\n"
		"       crashio verify DEV STATE LOG ROUND EXTENT_BYTES\n");
	return 2;
}
