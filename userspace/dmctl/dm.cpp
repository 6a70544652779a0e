// SPDX-License-Identifier: GPL-2.0
#include "dmctl/dm.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include <libdevmapper.h>
#include <unistd.h>

namespace dmtier::dm {

namespace {

// libdevmapper logs through a callback; keep its last error for our messages.
thread_local std::string g_last_error;

void log_fn(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
	(void)file;
	(void)line;
	(void)dm_errno;
	if (level > 3)	/* _LOG_ERR */
		return;
	char buf[512];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	g_last_error = buf;
}

void init_once()
{
	static std::once_flag once;
	std::call_once(once, [] {
		dm_log_with_errno_init(log_fn);
		// Without udev (the lab, rescue shells) libdevmapper makes the nodes.
		if (access("/run/udev/control", F_OK) != 0)
			dm_udev_set_sync_support(0);
	});
}

struct TaskDeleter {
	void operator()(dm_task *t) const { dm_task_destroy(t); }
};
using Task = std::unique_ptr<dm_task, TaskDeleter>;

Error fail(const std::string &what, const std::string &name)
{
	std::string why = g_last_error.empty() ? std::string(strerror(errno)) : g_last_error;
	int code = errno ? errno : EIO;
	g_last_error.clear();
	return make_error(what + " " + name + ": " + why, code);
}

Result<Task> task(int type, const std::string &name)
{
	init_once();
	g_last_error.clear();
	errno = 0;
	Task t(dm_task_create(type));
	if (!t)
		return fail("cannot create task for", name);
	if (!name.empty() && !dm_task_set_name(t.get(), name.c_str()))
		return fail("bad device name", name);
	return t;
}

Status run(Task &t, const std::string &what, const std::string &name)
{
	if (!dm_task_run(t.get()))
		return fail(what, name);
	return {};
}

Status load(const std::string &name, const Target &t, int type)
{
	auto tk = task(type, name);
	if (!tk)
		return std::move(tk).take_error();
	if (!dm_task_add_target(tk->get(), t.start, t.length, t.type.c_str(), t.params.c_str()))
		return fail("cannot add target to", name);
	uint32_t cookie = 0;
	if (type == DM_DEVICE_CREATE && !dm_task_set_cookie(tk->get(), &cookie, 0))
		return fail("cannot set udev cookie for", name);
	auto st = run(*tk, type == DM_DEVICE_CREATE ? "cannot create" : "cannot load table of", name);
	if (type == DM_DEVICE_CREATE)
		dm_udev_wait(cookie);
	return st;
}

Status simple(int type, const std::string &name, const char *what)
{
	auto tk = task(type, name);
	if (!tk)
		return std::move(tk).take_error();
	uint32_t cookie = 0;
	bool udev = type == DM_DEVICE_REMOVE || type == DM_DEVICE_RESUME;
	if (udev && !dm_task_set_cookie(tk->get(), &cookie, 0))
		return fail("cannot set udev cookie for", name);
	auto st = run(*tk, what, name);
	if (udev)
		dm_udev_wait(cookie);
	return st;
}

Result<Target> one_target(int type, const std::string &name)
{
	auto tk = task(type, name);
	if (!tk)
		return std::move(tk).take_error();
	if (auto st = run(*tk, type == DM_DEVICE_STATUS ? "no status of" : "no table of", name); !st)
		return make_error(st.error(), st.code());
	uint64_t start, length;
	char *ttype = nullptr, *params = nullptr;
	dm_get_next_target(tk->get(), nullptr, &start, &length, &ttype, &params);
	if (!ttype)
		return make_error(name + " has no table", ENXIO);
	return Target{start, length, ttype, params ? params : ""};
}

} // namespace

Result<std::vector<std::string>> list()
{
	auto tk = task(DM_DEVICE_LIST, "");
	if (!tk)
		return std::move(tk).take_error();
	if (auto st = run(*tk, "cannot list", "devices"); !st)
		return make_error(st.error(), st.code());
	std::vector<std::string> out;
	dm_names *n = dm_task_get_names(tk->get());
	if (n && n->dev) {
		for (;;) {
			out.emplace_back(n->name);
			if (!n->next)
				break;
			n = reinterpret_cast<dm_names *>(reinterpret_cast<char *>(n) + n->next);
		}
	}
	return out;
}

Result<DeviceInfo> info(const std::string &name)
{
	auto tk = task(DM_DEVICE_INFO, name);
	if (!tk)
		return std::move(tk).take_error();
	if (auto st = run(*tk, "no information on", name); !st)
		return make_error(st.error(), st.code());
	dm_info i{};
	if (!dm_task_get_info(tk->get(), &i))
		return fail("no information on", name);
	return DeviceInfo{bool(i.exists), bool(i.suspended), i.major, i.minor, i.open_count};
}

Status create(const std::string &name, const Target &t)
{
	return load(name, t, DM_DEVICE_CREATE);
}

Status reload(const std::string &name, const Target &t)
{
	if (auto st = load(name, t, DM_DEVICE_RELOAD); !st)
		return st;
	if (auto st = simple(DM_DEVICE_SUSPEND, name, "cannot suspend"); !st) {
		(void)simple(DM_DEVICE_CLEAR, name, "cannot clear");
		return st;
	}
	if (auto st = simple(DM_DEVICE_RESUME, name, "cannot resume"); !st)
		return st;
	return {};
}

Status suspend(const std::string &name)
{
	auto tk = task(DM_DEVICE_SUSPEND, name);
	if (!tk)
		return std::move(tk).take_error();
	if (!dm_task_skip_lockfs(tk->get()))
		return fail("cannot build suspend of", name);
	return run(*tk, "cannot suspend", name);
}

Status resume(const std::string &name)
{
	return simple(DM_DEVICE_RESUME, name, "cannot resume");
}

Status remove(const std::string &name)
{
	return simple(DM_DEVICE_REMOVE, name, "cannot remove");
}

Result<std::string> message(const std::string &name, const std::string &msg)
{
	auto tk = task(DM_DEVICE_TARGET_MSG, name);
	if (!tk)
		return std::move(tk).take_error();
	if (!dm_task_set_sector(tk->get(), 0) || !dm_task_set_message(tk->get(), msg.c_str()))
		return fail("cannot build message for", name);
	if (auto st = run(*tk, "message '" + msg + "' refused by", name); !st)
		return make_error(st.error(), st.code());
	const char *r = dm_task_get_message_response(tk->get());
	return std::string(r ? r : "");
}

Result<Target> status(const std::string &name)
{
	return one_target(DM_DEVICE_STATUS, name);
}

Result<Target> table(const std::string &name)
{
	return one_target(DM_DEVICE_TABLE, name);
}

} // namespace dmtier::dm
