// Text that MariaDB's utf8mb4 columns accept under strict mode: a task's output may hold any
// bytes (0xff, a character cut in half by a tail), and one bad byte must not fail the write.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skynet::util {

// `bytes` with every invalid sequence replaced by U+FFFD.
std::string validUtf8(std::string_view bytes);
// At most `maxBytes` of the end of `bytes`, starting at a character boundary, as valid UTF-8.
std::string utf8Tail(std::string_view bytes, std::size_t maxBytes);

}  // namespace skynet::util
