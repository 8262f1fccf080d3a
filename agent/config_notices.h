#pragma once
// What the agent does not do with an accepted setting, said once at start-up.
//
// A kube-proxy flag or KubeProxyConfiguration field is either acted on, rejected by
// validateConfig, or reported here: nothing accepted is ignored silently. A setting is reported
// only when it asks for something the agent does not do (a non-default value, or a default that
// kube-proxy acts on, such as the conntrack sizes). Each line names the field and its flag.
// docs/migration.md has the full table.

#include <string>
#include <system_error>
#include <vector>

#include "agent/config.h"

namespace agent {

struct ConfigNotices {
  std::vector<std::string> warnings;  // logged at level=warn
  std::vector<std::string> infos;     // logged at level=info (e.g. JSON instead of protobuf)
};

ConfigNotices unusedSettings(const Config& config);

// Writes `value` to an oom_score_adj file (/proc/self/oom_score_adj), as kube-proxy's
// oomAdjuster does. Returns the errno of a failed open or write.
std::error_code writeOomScoreAdj(const std::string& path, std::int32_t value);

}  // namespace agent
