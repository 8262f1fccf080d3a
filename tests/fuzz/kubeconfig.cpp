// libFuzzer target: the kubeconfig reader (--kubeconfig). The input is written to a file in a
// private temporary directory, because loadKubeconfig reads files (relative paths in the
// kubeconfig resolve against that directory). A bad kubeconfig must give a ConfigError; any
// other exception escapes and libFuzzer reports it.
#include "k8swatch/kubeconfig.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "tests/fuzz/fuzz_util.h"

namespace {

// The directory lives as long as the process and is removed by its destructor. (An atexit
// handler registered while the static was being built ran after the static was destroyed, and
// read the freed path: the heap-use-after-free the first fuzz run reported, at exit, for every
// input. It was in this harness, not in the kubeconfig reader.)
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fuzz-kubeconfig-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) fuzz::fail("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const std::filesystem::path& scratchDir() {
  static const ScratchDir dir;
  return dir.path();
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
