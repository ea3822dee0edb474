#include "util/utf8.h"

namespace skynet {

namespace {

bool isContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The well-formed byte sequences of Unicode's table 3-7: how long a sequence that starts with
// `lead` is, and the range its second byte must fall in (the later bytes are any continuation).
// Length 0: the byte can start no sequence (a continuation byte, C0, C1, F5..FF).
struct SequenceShape {
  std::size_t length;
  unsigned char secondLow, secondHigh;
};

SequenceShape shapeOf(unsigned char lead) {
  if (lead < 0x80) return {1, 0, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};  // E0 80..9F would be overlong
  if (lead == 0xED) return {3, 0x80, 0x9F};  // ED A0..BF would be a surrogate
  if (lead >= 0xE1 && lead <= 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xF0) return {4, 0x90, 0xBF};  // F0 80..8F would be overlong
  if (lead == 0xF4) return {4, 0x80, 0x8F};  // F4 90.. would be above U+10FFFF
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  return {0, 0, 0};
}

// How many bytes from `at` form one well-formed character (> 0), or minus the length of the
// maximal ill-formed subpart there (< 0), which one U+FFFD replaces.
long measure(std::string_view bytes, std::size_t at) {
  const auto lead = static_cast<unsigned char>(bytes[at]);
  const SequenceShape shape = shapeOf(lead);
  if (shape.length == 0) return -1;
  std::size_t taken = 1;
  while (taken < shape.length && at + taken < bytes.size()) {
    const auto next = static_cast<unsigned char>(bytes[at + taken]);
    const bool fits = taken == 1 ? next >= shape.secondLow && next <= shape.secondHigh : isContinuation(next);
    if (!fits) break;
    ++taken;
  }
  const long length = static_cast<long>(taken);
  return taken == shape.length ? length : -length;
}

}  // namespace

std::string validUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t at = 0;
  while (at < bytes.size()) {
    const long length = measure(bytes, at);
    if (length > 0) {
      out.append(bytes.substr(at, static_cast<std::size_t>(length)));
      at += static_cast<std::size_t>(length);
    } else {
      out.append(kReplacementCharacter);
      at += static_cast<std::size_t>(-length);
    }
  }
  return out;
}

std::string utf8Tail(std::string_view bytes, std::size_t maxBytes) {
  std::string_view window = bytes;
  if (bytes.size() > maxBytes) {
    window = bytes.substr(bytes.size() - maxBytes);
    // The cut may fall inside a character: drop the continuation bytes it left at the front
    // (at most three belong to a cut character; more are stray and validUtf8 replaces them).
    for (int dropped = 0; dropped < 3 && !window.empty() && isContinuation(static_cast<unsigned char>(window[0]));
         ++dropped) {
      window.remove_prefix(1);
    }
  }
  std::string tail = validUtf8(window);
  // A replacement (3 bytes) may stand for one ill-formed byte: drop whole characters from the
  // front until the tail fits again.
  std::size_t start = 0;
  while (tail.size() - start > maxBytes) {
    ++start;
    while (start < tail.size() && isContinuation(static_cast<unsigned char>(tail[start]))) ++start;
  }
  return tail.substr(start);
}

}  // namespace skynet
