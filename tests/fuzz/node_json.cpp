// libFuzzer target: one Node object in JSON through k8swatch::decodeNode. Checks that it never
// crashes or throws, that rejections say why, and that no address text with trailing junk is
// accepted (see fuzz_util.h).
#include "k8swatch/decode_node.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::fuzzDecoder(data, size,
                           [](const boost::json::value& v) { return k8swatch::decodeNode(v); });
}
