#pragma once
// Internal to agent/: Config <-> JSON tree. config_file.cpp adds the YAML and file layers.

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "agent/config.h"

namespace agent {

// Reads a KubeProxyConfiguration JSON tree over the defaults. Throws ConfigError on a type error
// or a wrong apiVersion/kind; unknown fields go to `warnings`.
Config configFromJson(const boost::json::object& root, std::vector<std::string>& warnings);

// The whole effective configuration as a KubeProxyConfiguration JSON tree, keys sorted, durations
// as Go strings; configFromJson reads it back.
boost::json::object configToJson(const Config& config);

}  // namespace agent
