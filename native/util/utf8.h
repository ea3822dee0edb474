// UTF-8 repair and tail-keeping for text Skynet stores: a task's output may hold any bytes (0xff,
// a character cut in half by a tail), and one bad byte must not fail a write to MariaDB's utf8mb4
// columns under strict mode, nor a JSON answer; the end of a log says the most about how a run
// ended. Pure functions, thread-safe.
//
// (Merge of main's skynet::util and api's skynet::utf8 versions, which arrived in parallel; both
// interfaces are kept so that their callers compile unchanged. The lead may fold them into one.)
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

namespace skynet::utf8 {

// `text` with every byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF count as invalid) replaced by U+FFFD.
std::string sanitize(const std::string& text);

// The longest end of the valid UTF-8 `text` that fits in `maxBytes`, starting on a character
// boundary.
std::string tail(const std::string& text, std::size_t maxBytes);

}  // namespace skynet::utf8
