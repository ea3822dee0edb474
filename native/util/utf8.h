// Text from a child process made safe for a utf8mb4 column.
//
// Why: a task's output is whatever bytes drush and its children wrote. MariaDB in strict mode
// rejects a statement whose text is not valid UTF-8 (a byte like 0xff, or a tail cut in the
// middle of a character), and a rejected write must never stop the queue. Every piece of output
// text is passed through these before it is written into the database.
//
// Contract:
// - validUtf8() returns the input with every ill-formed sequence replaced by U+FFFD, one
//   replacement per maximal ill-formed subpart (Unicode's recommended practice, as browsers do):
//   stray continuation bytes, overlong forms (C0, C1, E0 80.., F0 80..), surrogates (ED A0..),
//   code points above U+10FFFF (F4 90.., F5..FF) and a sequence cut short, also at the end.
//   Well-formed input comes back byte for byte.
// - utf8Tail() keeps at most `maxBytes` bytes of the END of the input, starting at a character
//   boundary, and is valid UTF-8 (ill-formed bytes in the kept part are replaced as above, and
//   the result still fits in `maxBytes`).
// - Pure functions of their arguments: safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skynet {

// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

std::string validUtf8(std::string_view bytes);
std::string utf8Tail(std::string_view bytes, std::size_t maxBytes);

}  // namespace skynet
