#pragma once
// The agent's long-running modes: watching the API server (the default) or a manifest source
// (--source without --dry-run), programming the kernel until SIGTERM or SIGINT.

#include <memory>
#include <string>

#include "agent/flags.h"
#include "agent/http_server.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "ipvs/result.h"

namespace agent {

// Returns the process exit code: 0 after a clean stop, 1 if start-up failed or the --config
// file's content changed (kube-proxy exits then too, to be restarted with it).
int runAgent(const Options& options);

// --init-only: the privileged part of start-up (load ip_vs, set the sysctls), then exit.
int runInitOnly(const Options& options);

// The healthz or metrics server `name` at `address` (empty: no server, a null pointer). As in
// kube-proxy, a port that cannot be bound is logged, counted in httpBindErrors and retried every
// 5 s; with `hardFail` (--bind-address-hard-fail) the bind error is logged, counted and returned
// instead, and start-up stops.
ipvs::Result<std::unique_ptr<HttpServer>> serveStatusPort(HttpService& http,
                                                          const std::string& address, bool hardFail,
                                                          HttpRoutes routes, const Logger& log,
                                                          AgentMetrics& metrics, const char* name);

}  // namespace agent
