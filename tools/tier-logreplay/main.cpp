// SPDX-License-Identifier: GPL-2.0
// tier-logreplay: lists, checks and replays dm-log-writes logs, and marks
// several log-writes devices at one consistent point (docs/reliability.md,
// "Power-cut replay").
//
//   tier-logreplay list [--all] LOG
//   tier-logreplay check LOG
//   tier-logreplay replay [START] [STOP] [--discard zero|discard|skip]
//                         [--each-flush CMD [--flush-step N]] LOG TARGET
//       START: --from-entry N | --from-mark LABEL (the entries after it)
//       STOP:  --to-entry N | --to-flush N | --to-mark LABEL (inclusive)
//   tier-logreplay mark LABEL DMNAME...
//
// Exit status: 0 done; 1 the log is invalid, or a requested entry / mark
// does not exist, or the log does not fit the target (nothing written);
// 2 usage, or a file, device or device-mapper error.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "dmctl/dm.h"
#include "logwrites/log_writes.h"

using namespace dmtier;
using namespace dmtier::logwrites;

namespace {

const char *kUsage =
	"usage: tier-logreplay list [--all] LOG\n"
	"       tier-logreplay check LOG\n"
	"       tier-logreplay replay [--from-entry N | --from-mark LABEL]\n"
	"                             [--to-entry N | --to-flush N | --to-mark LABEL]\n"
	"                             [--discard zero|discard|skip]\n"
	"                             [--each-flush CMD [--flush-step N]] LOG TARGET\n"
	"       tier-logreplay mark LABEL DMNAME...\n"
	"\n"
	"LOG is a dm-log-writes log device or file.  list prints the super and every\n"
	"FLUSH, FUA and MARK entry (--all: every entry); check validates the log;\n"
	"replay writes the log's entries onto TARGET (a block device or file), from\n"
	"the first entry (or START) up to and including the last one (or STOP):\n"
	"--to-entry N (entries count from 0), --to-flush N (the N-th FLUSH or FUA\n"
	"entry, from 1), --to-mark LABEL (the first such mark at or after the\n"
	"start); discards write zeros unless --discard says otherwise.  Nothing is\n"
	"written unless the whole log is valid and every entry to replay fits.\n"
	"--each-flush CMD runs `sh -c CMD` each time a FLUSH or FUA entry has been\n"
	"replayed (and TARGET flushed), with LOGREPLAY_ENTRY (its index) and\n"
	"LOGREPLAY_FLUSH (its number) in the environment; the first failing CMD\n"
	"stops the replay (exit 1); --flush-step N: only at every N-th one.\n"
	"mark suspends the dm-log-writes devices DMNAME... (in that order, without\n"
	"lockfs), sends each `mark LABEL`, and resumes them: while they are all\n"
	"suspended no write or flush can complete on any of them, so the marks cut\n"
	"every log at one point in time.\n"
	"Exit: 0 done, 1 invalid log / no such entry or mark / does not fit,\n"
	"2 usage or I/O error.\n";

[[noreturn]] void usage(const std::string &why)
{
	if (!why.empty())
		fprintf(stderr, "tier-logreplay: %s\n", why.c_str());
	fputs(kUsage, stderr);
	exit(2);
}

int fail(int code, const std::string &msg)
{
	fprintf(stderr, "tier-logreplay: %s\n", msg.c_str());
	return code;
}

bool parse_u64(const char *s, uint64_t &v)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	v = x;
	return true;
}

// Opening a log: 2 for a file that cannot be opened, 1 for an invalid log.
struct Opened {
	UniqueFd fd;
	Log log;
};
int open_log(const std::string &path, Opened &o)
{
	o.fd.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!o.fd)
		return fail(2, path + ": " + strerror(errno));
	auto size = dev_size(o.fd.get());
	if (!size)
		return fail(2, path + ": " + size.error());
	auto log = read_log(o.fd.get(), size->bytes);
	if (!log)
		return fail(log.code() ? 2 : 1, path + ": " + log.error());
	o.log = std::move(*log);
	return 0;
}

void print_summary(const std::string &path, const Log &log)
{
	uint64_t w = 0, d = 0, f = 0, m = 0;
	for (const Entry &e : log.entries) {
		if (e.is_mark())
			m++;
		else if (e.is_discard())
			d++;
		else if (e.nr_sectors)
			w++;
		if (e.is_flush_or_fua())
			f++;
	}
	printf("log %s: version %" PRIu64 ", sector size %" PRIu32 ", %" PRIu64 " entries (%" PRIu64
	       " writes, %" PRIu64 " discards, %" PRIu64 " FLUSH/FUA, %" PRIu64 " marks), %" PRIu64
	       " of %" PRIu64 " bytes used\n",
	       path.c_str(), kVersion, log.sectorsize, log.nr_entries, w, d, f, m, log.end_offset,
	       log.log_bytes);
}

int cmd_list(int argc, char **argv)
{
	bool all = false;
	std::vector<std::string> args;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = true;
		else if (argv[i][0] == '-' && argv[i][1])
			usage(std::string("unknown option ") + argv[i]);
		else
			args.push_back(argv[i]);
	}
	if (args.size() != 1)
		usage("list wants one LOG");
	Opened o;
	if (int rc = open_log(args[0], o))
		return rc;
	print_summary(args[0], o.log);
	for (const Entry &e : o.log.entries) {
		if (e.is_mark()) {
			printf("entry %" PRIu64 " MARK %s\n", e.index, e.mark.c_str());
		} else if (all || e.is_flush_or_fua()) {
			printf("entry %" PRIu64 " %s", e.index, flags_string(e.flags).c_str());
			if (e.flush_no)
				printf(" #%" PRIu64, e.flush_no);
			if (e.nr_sectors)
				printf(" sector %" PRIu64 " +%" PRIu64, e.sector, e.nr_sectors);
			printf("\n");
		}
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	if (argc != 3)
		usage("check wants one LOG");
	Opened o;
	if (int rc = open_log(argv[2], o))
		return rc;
	print_summary(argv[2], o.log);
	printf("OK\n");
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	Start start;
	Stop stop;
	DiscardMode mode = DiscardMode::Zero;
	std::string each_flush;
	uint64_t step = 1;
	int nstart = 0, nstop = 0;
	std::vector<std::string> args;
	for (int i = 2; i < argc; i++) {
		std::string a = argv[i];
		auto val = [&]() -> const char * {
			if (i + 1 >= argc)
				usage(a + " wants a value");
			return argv[++i];
		};
		auto num = [&]() {
			uint64_t v;
			const char *s = val();
			if (!parse_u64(s, v))
				usage(a + ": not a number: '" + s + "'");
			return v;
		};
		if (a == "--from-entry") {
			start.kind = Start::Entry, start.number = num(), nstart++;
		} else if (a == "--from-mark") {
			start.kind = Start::AfterMark, start.label = val(), nstart++;
		} else if (a == "--to-entry") {
			stop.kind = Stop::Entry, stop.number = num(), nstop++;
		} else if (a == "--to-flush") {
			stop.kind = Stop::Flush, stop.number = num(), nstop++;
			if (!stop.number)
				usage("--to-flush counts from 1");
		} else if (a == "--to-mark") {
			stop.kind = Stop::Mark, stop.label = val(), nstop++;
		} else if (a == "--discard") {
			std::string m = val();
			if (m == "zero")
				mode = DiscardMode::Zero;
			else if (m == "discard")
				mode = DiscardMode::Discard;
			else if (m == "skip")
				mode = DiscardMode::Skip;
			else
				usage("--discard takes zero, discard or skip, not '" + m + "'");
		} else if (a == "--each-flush") {
			each_flush = val();
		} else if (a == "--flush-step") {
			step = num();
			if (!step)
				usage("--flush-step wants a number from 1");
		} else if (a.size() > 1 && a[0] == '-') {
			usage("unknown option " + a);
		} else {
			args.push_back(a);
		}
	}
	if (args.size() != 2)
		usage("replay wants LOG and TARGET");
	if (nstart > 1 || nstop > 1)
		usage("at most one start and one stop");
	if (step != 1 && each_flush.empty())
		usage("--flush-step goes with --each-flush");
	Opened o;
	if (int rc = open_log(args[0], o))
		return rc;
	auto range = resolve(o.log, start, stop);
	if (!range)
		return fail(1, args[0] + ": " + range.error());
	UniqueFd t(open(args[1].c_str(), O_WRONLY | O_CLOEXEC));
	if (!t)
		return fail(2, args[1] + ": " + strerror(errno));
	struct stat a, b;
	if (!fstat(o.fd.get(), &a) && !fstat(t.get(), &b) &&
	    ((S_ISBLK(a.st_mode) && S_ISBLK(b.st_mode) && a.st_rdev == b.st_rdev) ||
	     (S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)))
		return fail(2, args[1] + ": is the log itself");
	auto size = dev_size(t.get());
	if (!size)
		return fail(2, args[1] + ": " + size.error());
	if (Status s = check_fits(o.log, *range, size->bytes); !s)
		return fail(1, args[0] + " onto " + args[1] + ": " + s.error() + "; nothing written");
	ReplayStats total;
	uint64_t checked = 0;
	// Pieces ending at each (step-th) FLUSH/FUA entry when a command checks
	// them.
	for (uint64_t first = range->first; !range->empty && first <= range->last;) {
		Range piece = *range;
		piece.first = first;
		if (!each_flush.empty())
			for (piece.last = first; piece.last < range->last;) {
				uint64_t no = o.log.entries[piece.last].flush_no;
				if (no && no % step == 0)
					break;
				piece.last++;
			}
		auto st = replay(o.log, o.fd.get(), piece, t.get(), size->bytes, mode);
		if (!st)
			return fail(2, args[0] + " onto " + args[1] + ": " + st.error());
		total.writes += st->writes, total.bytes_written += st->bytes_written;
		total.discards += st->discards, total.bytes_discarded += st->bytes_discarded;
		total.flushes += st->flushes, total.marks += st->marks;
		const Entry &e = o.log.entries[piece.last];
		if (!each_flush.empty() && e.flush_no && e.flush_no % step == 0) {
			setenv("LOGREPLAY_ENTRY", std::to_string(e.index).c_str(), 1);
			setenv("LOGREPLAY_FLUSH", std::to_string(e.flush_no).c_str(), 1);
			fflush(stdout);
			int rc = system(each_flush.c_str());
			if (rc != 0)
				return fail(1, "the command failed (status " + std::to_string(rc) +
						       ") after entry " + std::to_string(e.index) +
						       " (FLUSH/FUA #" + std::to_string(e.flush_no) + ")");
			checked++;
		}
		first = piece.last + 1;
	}
	if (range->empty) {
		printf("replayed nothing (no entries past the start)\n");
		return 0;
	}
	printf("replayed entries %" PRIu64 " to %" PRIu64 ": %" PRIu64 " writes (%" PRIu64
	       " bytes), %" PRIu64 " discards (%" PRIu64 " bytes), %" PRIu64 " FLUSH/FUA, %" PRIu64
	       " marks\n",
	       range->first, range->last, total.writes, total.bytes_written, total.discards,
	       total.bytes_discarded, total.flushes, total.marks);
	if (!each_flush.empty())
		printf("command passed at %" PRIu64 " FLUSH/FUA points\n", checked);
	return 0;
}

int cmd_mark(int argc, char **argv)
{
	if (argc < 4)
		usage("mark wants LABEL and at least one DMNAME");
	std::string label = argv[2];
	if (label.empty() || label.find_first_of(" \t\n\\") != std::string::npos)
		usage("a mark label is one word without blanks or backslashes");
	std::vector<std::string> devs(argv + 3, argv + argc);
	// Every device must be a log-writes device before anything is suspended.
	for (const std::string &d : devs) {
		auto t = dm::table(d);
		if (!t)
			return fail(2, t.error());
		if (t->type != "log-writes")
			return fail(2, d + " is a " + t->type + " device, not log-writes");
	}
	size_t suspended = 0;
	int rc = 0;
	for (; suspended < devs.size(); suspended++) {
		if (Status s = dm::suspend(devs[suspended]); !s) {
			rc = fail(2, s.error());
			break;
		}
	}
	if (!rc) {
		for (const std::string &d : devs) {
			auto r = dm::message(d, "mark " + label);
			if (!r) {
				rc = fail(2, r.error());
				break;
			}
		}
	}
	for (size_t i = suspended; i-- > 0;) {
		if (Status s = dm::resume(devs[i]); !s)
			rc = fail(2, s.error());
	}
	if (!rc)
		printf("marked %s on %zu devices\n", label.c_str(), devs.size());
	return rc;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2)
		usage("");
	std::string cmd = argv[1];
	if (cmd == "-h" || cmd == "--help") {
		fputs(kUsage, stdout);
		return 0;
	}
	if (cmd == "list")
		return cmd_list(argc, argv);
	if (cmd == "check")
		return cmd_check(argc, argv);
	if (cmd == "replay")
		return cmd_replay(argc, argv);
	if (cmd == "mark")
		return cmd_mark(argc, argv);
	usage("unknown command '" + cmd + "'");
}
