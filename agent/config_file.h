#pragma once
// KubeProxyConfiguration files: YAML in, YAML out (--write-config-to), JSON out (/configz).
//
// Decoding follows kube-proxy: the YAML is turned into a JSON tree (YAML 1.1 scalars, as
// sigs.k8s.io/yaml does), then read field by field. A type error or a wrong apiVersion/kind is
// fatal (ConfigError naming the field path). Unknown fields are not: kube-proxy's strict decoder
// rejects them, then it retries with the lenient v1alpha1 decoder and only logs a warning, so the
// agent returns them as warnings ("unknown field \"ipvs.foo\" ignored") for the caller to log.
// The agent's own settings live under `ipvsAgent`, which kube-proxy would likewise ignore.

#include <string>
#include <string_view>
#include <vector>

#include "agent/config.h"

namespace agent {

// Overlays the document on kube-proxy's defaults. Throws ConfigError.
Config parseConfigYaml(std::string_view yaml, std::vector<std::string>& warnings);
Config loadConfigFile(const std::string& path, std::vector<std::string>& warnings);

// The whole effective configuration, keys sorted, loadable again by parseConfigYaml.
std::string configToYaml(const Config& config);
void writeConfigFile(const std::string& path, const Config& config);  // throws ConfigError

// /configz body: {"kubeproxy.config.k8s.io": {...}}, with credentials in strings redacted.
std::string configzBody(const Config& config);

}  // namespace agent
