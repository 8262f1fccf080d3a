// libFuzzer target: the manifest reader (--source, and the local API server's initial state):
// YAML always, and JSON as well when the text looks like JSON, then decoding of the objects.
// It must never crash, hang, throw or balloon (scripts/fuzz sets -timeout and -rss_limit_mb),
// and every object it returns must carry its kind.
#include <string>

#include "k8swatch/manifest_source.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void readAs(std::string_view text, bool isJson) {
  const auto objects = k8swatch::parseManifestObjects(text, isJson, "fuzz");
  for (const auto& obj : objects.objects) {
    const auto* kind = obj.if_contains("kind");
    if (kind == nullptr || !kind->is_string()) fuzz::fail("manifest object without a kind");
  }
  const auto contents = k8swatch::decodeManifestObjects(objects);
  for (const auto& r : contents.rejects) {
    if (r.reason.empty() || r.message.empty()) fuzz::fail("rejection without reason or message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::asText(data, size);
  readAs(text, false);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    readAs(text, true);
  }
  return 0;
}
