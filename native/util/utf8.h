// UTF-8 repair and tail-keeping for text Skynet stores (run logs): the JSON answers and the
// utf8mb4 columns need valid UTF-8, and the end of a log says the most about how a run ended.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace skynet::utf8 {

// `text` with every byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF count as invalid) replaced by U+FFFD.
std::string sanitize(const std::string& text);

// True when `text` is valid UTF-8 as sanitize() reads it.
bool isValid(const std::string& text);

// The longest end of the valid UTF-8 `text` that fits in `maxBytes`, starting on a character
// boundary.
std::string tail(const std::string& text, std::size_t maxBytes);

}  // namespace skynet::utf8
