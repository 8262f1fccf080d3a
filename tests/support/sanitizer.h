#pragma once

#include <cstddef>

// Whether this build runs under AddressSanitizer (the sanitizer pass of scripts/test). There a
// byte pushed through the JSON parser and the socket code costs about ten times what it costs in
// Release, so tests that stream huge inputs scale their sizes down under ASan, keeping the same
// ratios (and so the same code paths and assertions), and run the full size in the Release pass.
// gcc defines __SANITIZE_ADDRESS__; clang 14 answers __has_feature instead.
namespace testsupport {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// What a huge-input test divides its sizes by: 8 under ASan (100 MiB becomes 12.5 MiB), else 1.
inline constexpr std::size_t kHugeInputDivisor = kAddressSanitizer ? 8 : 1;

}  // namespace testsupport
