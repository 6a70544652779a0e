// SPDX-License-Identifier: GPL-2.0
// tierd: the dm-tier tiering daemon.  See docs/tierd.md.
//
//   tierd [--config FILE] [--state-dir DIR] [--socket PATH] [--tcp HOST:PORT --token-file FILE]
//         [--round-ms N] [--model NAME] [--takeover] [--check-config]
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <httplib.h>

#include "tierd/daemon.h"

using namespace dmtier::tierd;

namespace {

void usage(FILE *f)
{
	std::fprintf(f,
		     "usage: tierd [--config FILE] [--state-dir DIR] [--socket PATH]\n"
		     "             [--tcp HOST:PORT --token-file FILE] [--round-ms N] [--model NAME]\n"
		     "             [--takeover] [--check-config]\n"
		     "  --config FILE     configuration (default %s; a missing default file means defaults)\n"
		     "  --state-dir DIR   saved planner state (default /var/lib/dm-tier)\n"
		     "  --socket PATH     API Unix socket (default /run/dm-tier/tierd.sock)\n"
		     "  --tcp HOST:PORT   also serve the API over TCP; requests need the bearer token\n"
		     "  --token-file FILE the token (first line)\n"
		     "  --round-ms N      planning round length\n"
		     "  --model NAME      predictor for every volume (default: each volume's prediction_model)\n"
		     "  --takeover        take pools from another controller\n"
		     "  --check-config    parse the configuration, print it as the daemon sees it, exit\n",
		     kDefaultConfig);
}

void serve(httplib::Server &srv, Api &api, bool remote)
{
	auto h = [&api, remote](const httplib::Request &req, httplib::Response &res) {
		ApiRequest r{req.method, req.path, req.body, req.get_header_value("Authorization"), remote};
		ApiResponse a = api.handle(r);
		res.status = a.status;
		if (a.status != 204)
			res.set_content(a.body, a.content_type.c_str());
	};
	srv.Get(".*", h);
	srv.Post(".*", h);
	srv.Put(".*", h);
	srv.Patch(".*", h);
	srv.Delete(".*", h);
	srv.set_payload_max_length(1 << 20);
}

} // namespace

int main(int argc, char **argv)
{
	std::string config_path = kDefaultConfig;
	bool config_given = false, check = false;
	std::optional<std::string> state_dir, socket_path, tcp, token_file, model;
	std::optional<std::uint32_t> round_ms;
	bool takeover = false;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto val = [&]() -> std::string {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "tierd: %s needs a value\n", a.c_str());
				usage(stderr);
				std::exit(2);
			}
			return argv[++i];
		};
		if (a == "--config")
			config_path = val(), config_given = true;
		else if (a == "--state-dir")
			state_dir = val();
		else if (a == "--socket")
			socket_path = val();
		else if (a == "--tcp")
			tcp = val();
		else if (a == "--token-file")
			token_file = val();
		else if (a == "--model")
			model = val();
		else if (a == "--round-ms") {
			std::string v = val();
			char *end;
			unsigned long n = std::strtoul(v.c_str(), &end, 10);
			if (*end || n < 50 || n > 600000) {
				std::fprintf(stderr, "tierd: --round-ms %s: expected 50 to 600000\n", v.c_str());
				return 2;
			}
			round_ms = std::uint32_t(n);
		} else if (a == "--takeover")
			takeover = true;
		else if (a == "--check-config")
			check = true;
		else if (a == "-h" || a == "--help") {
			usage(stdout);
			return 0;
		} else {
			std::fprintf(stderr, "tierd: unknown argument '%s'\n", a.c_str());
			usage(stderr);
			return 2;
		}
	}
	auto loaded = load_config(config_path, config_given);
	if (!loaded) {
		std::fprintf(stderr, "tierd: %s\n", loaded.error().c_str());
		return 1;
	}
	Config cfg = std::move(*loaded);
	if (state_dir)
		cfg.state_dir = *state_dir;
	if (socket_path)
		cfg.socket = *socket_path;
	if (tcp)
		cfg.tcp = *tcp;
	if (token_file)
		cfg.token_file = *token_file;
	if (round_ms)
		cfg.round_ms = *round_ms;
	if (model)
		cfg.planner.model_override = *model;
	cfg.takeover |= takeover;
	if (!cfg.tcp.empty() && cfg.token_file.empty()) {
		std::fprintf(stderr, "tierd: --tcp needs --token-file: the TCP API requires a bearer token\n");
		return 2;
	}
	if (check) {
		std::printf("config %s: ok\nstate_dir %s\nsocket %s\nround_ms %u\ntiers %zu\n", config_path.c_str(),
			    cfg.state_dir.c_str(), cfg.socket.c_str(), cfg.round_ms, cfg.tiers.size());
		for (std::size_t t = 0; t < cfg.tiers.size(); t++)
			std::printf("tier %zu %s class=%s cost_per_gb_month=%g latency_us=%g iops=%g\n", t,
				    cfg.tiers[t].name.c_str(), cfg.tiers[t].cls.c_str(), cfg.tiers[t].cost_gb_month,
				    cfg.tiers[t].latency_us, cfg.tiers[t].iops);
		return 0;
	}
	std::string token;
	if (!cfg.token_file.empty()) {
		std::ifstream f(cfg.token_file);
		if (!f || !std::getline(f, token) || token.empty()) {
			std::fprintf(stderr, "tierd: cannot read a token from %s\n", cfg.token_file.c_str());
			return 1;
		}
		while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
			token.pop_back();
	}

	// Signals go to the main loop through a signalfd; every thread started
	// from here on inherits the mask.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, nullptr);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sigfd < 0) {
		std::perror("tierd: signalfd");
		return 1;
	}

	Daemon d(cfg, config_path, config_given);
	dmtier::Status s = d.start();
	if (!s) {
		log(Level::err, "%s", s.error().c_str());
		return 1;
	}

	Api api(d, token);
	httplib::Server unix_srv, tcp_srv;
	serve(unix_srv, api, false);
	std::error_code ec;
	std::filesystem::create_directories(std::filesystem::path(cfg.socket).parent_path(), ec);
	::unlink(cfg.socket.c_str());
	unix_srv.set_address_family(AF_UNIX);
	if (!unix_srv.bind_to_port(cfg.socket, 80)) {
		log(Level::err, "cannot listen on %s: %s", cfg.socket.c_str(), std::strerror(errno));
		d.stop();
		return 1;
	}
	::chmod(cfg.socket.c_str(), 0660);
	std::thread unix_thread([&] { unix_srv.listen_after_bind(); });
	std::thread tcp_thread;
	if (!cfg.tcp.empty()) {
		auto colon = cfg.tcp.rfind(':');
		int port = colon == std::string::npos ? 0 : std::atoi(cfg.tcp.c_str() + colon + 1);
		std::string host = colon == std::string::npos ? "" : cfg.tcp.substr(0, colon);
		serve(tcp_srv, api, true);
		if (port <= 0 || !tcp_srv.bind_to_port(host, port)) {
			log(Level::err, "cannot listen on TCP %s", cfg.tcp.c_str());
			unix_srv.stop();
			unix_thread.join();
			d.stop();
			return 1;
		}
		tcp_thread = std::thread([&] { tcp_srv.listen_after_bind(); });
	}
	log(Level::notice, "serving the API on %s%s%s", cfg.socket.c_str(), cfg.tcp.empty() ? "" : " and TCP ",
	    cfg.tcp.c_str());
	sd_notify(0, "READY=1");

	int rc = d.run(sigfd);
	sd_notify(0, "STOPPING=1");
	unix_srv.stop();
	if (tcp_thread.joinable())
		tcp_srv.stop();
	unix_thread.join();
	if (tcp_thread.joinable())
		tcp_thread.join();
	d.stop();
	::unlink(cfg.socket.c_str());
	log(Level::notice, "stopped");
	return rc;
}
