// libFuzzer target: the kubeconfig reader (--kubeconfig). The input is written to a file in a
// private temporary directory, because loadKubeconfig reads files (relative paths in the
// kubeconfig resolve against that directory). A bad kubeconfig must give a ConfigError; any
// other exception escapes and libFuzzer reports it.
#include "k8swatch/kubeconfig.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/fuzz_util.h"

namespace {

std::filesystem::path scratchDir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fuzz-kubeconfig-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) fuzz::fail("mkdtemp failed");
    std::atexit([] { std::filesystem::remove_all(scratchDir()); });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = scratchDir() / "config";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) fuzz::fail("cannot write " + path.string());
  }
  try {
    (void)k8swatch::loadKubeconfig(path);
  } catch (const k8swatch::ConfigError&) {
  }
  return 0;
}
