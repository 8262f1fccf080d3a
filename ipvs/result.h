#pragma once
// Result<T>: a value or a std::error_code. boost::system::result is used rather than
// std::expected because the fuzzing build uses clang 14, whose concepts support is too old for
// libstdc++ 12's <expected>. Header-only; it brings no I/O into the pure core.

#include <boost/system/result.hpp>
#include <system_error>

namespace ipvs {

template <class T>
using Result = boost::system::result<T, std::error_code>;

inline std::error_code errnoCode(int e) { return {e, std::generic_category()}; }

}  // namespace ipvs
