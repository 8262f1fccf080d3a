// libFuzzer target: the KubeProxyConfiguration reader (--config), with the round trip of
// --write-config-to: whatever it accepts, written back as YAML, must load again without error
// or warning, give an equal Config and write the same text. /configz must render too.
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> warnings;
  agent::Config config;
  try {
    config = agent::parseConfigYaml(fuzz::asText(data, size), warnings);
  } catch (const agent::ConfigError&) {
    return 0;  // rejected with a message: fine
  }
  const std::string written = agent::configToYaml(config);
  std::vector<std::string> reloadWarnings;
  agent::Config reloaded;
  try {
    reloaded = agent::parseConfigYaml(written, reloadWarnings);
  } catch (const agent::ConfigError& e) {
    fuzz::fail(std::string("the written configuration does not load: ") + e.what() + "\n" +
               written);
  }
  if (!reloadWarnings.empty()) {
    fuzz::fail("the written configuration loads with warning: " + reloadWarnings.front());
  }
  if (!(reloaded == config)) fuzz::fail("the reloaded configuration differs:\n" + written);
  if (agent::configToYaml(reloaded) != written) {
    fuzz::fail("writing the reloaded configuration gives other text:\n" + written);
  }
  (void)agent::configzBody(config);
  return 0;
}
