#include "util/utf8.h"

namespace skynet::util {

namespace {

// Length of the valid sequence at `at`, or 0 when it is not one.
std::size_t sequenceLength(std::string_view s, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned min = 0;
  unsigned code = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, min = 0x80, code = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, min = 0x800, code = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, min = 0x10000, code = lead & 0x07u;
  } else {
    return 0;
  }
  if (at + length > s.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(at + i) & 0x3fu);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

}  // namespace

std::string validUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t length = sequenceLength(bytes, at);
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++at;
    } else {
      out.append(bytes.substr(at, length));
      at += length;
    }
  }
  return out;
}

std::string utf8Tail(std::string_view bytes, std::size_t maxBytes) {
  std::size_t from = bytes.size() > maxBytes ? bytes.size() - maxBytes : 0;
  // Skip continuation bytes so the tail starts at a character.
  while (from < bytes.size() && from > 0 && (static_cast<unsigned char>(bytes[from]) & 0xc0) == 0x80) ++from;
  std::string tail = validUtf8(bytes.substr(from));
  // Replacements may have made it longer: cut again from the front at a character boundary.
  while (tail.size() > maxBytes) {
    std::size_t cut = tail.size() - maxBytes;
    while (cut < tail.size() && (static_cast<unsigned char>(tail[cut]) & 0xc0) == 0x80) ++cut;
    tail.erase(0, cut);
  }
  return tail;
}

}  // namespace skynet::util
