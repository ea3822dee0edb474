#include "aegir/php_value.h"

#include <cstdlib>
#include <regex>

namespace skynet::aegir {

std::optional<bool> serializedTruth(const std::string& serialized) {
  static const std::regex boolean(R"(b:([01]);)");
  static const std::regex integer(R"(i:(-?\d+);)");
  static const std::regex real(R"(d:(-?[0-9.eE+-]+|NAN|INF|-INF);)");
  static const std::regex text(R"re(s:(\d+):"(.*)";)re");
  std::smatch match;
  if (serialized == "N;") return false;
  if (std::regex_match(serialized, match, boolean)) return match[1] == "1";
  if (std::regex_match(serialized, match, integer)) return std::strtoll(match[1].str().c_str(), nullptr, 10) != 0;
  if (std::regex_match(serialized, match, real)) return std::strtod(match[1].str().c_str(), nullptr) != 0.0;
  if (std::regex_match(serialized, match, text)) {
    const std::string value = match[2];
    if (value.size() != std::stoul(match[1])) return std::nullopt;
    return !(value.empty() || value == "0");  // PHP: "" and "0" are false
  }
  return std::nullopt;
}

}  // namespace skynet::aegir
