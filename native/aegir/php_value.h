// Drupal stores its variables PHP-serialized. Skynet only reads flags, and a flag occurs in
// several forms in real databases (b:1; i:1; s:1:"1";), so it is read the way PHP's loose
// truthiness would read it.
#pragma once

#include <optional>
#include <string>

namespace skynet::aegir {

// True/false for a serialized scalar (b:, i:, d:, s:, N;), nullopt when it is not one.
std::optional<bool> serializedTruth(const std::string& serialized);

}  // namespace skynet::aegir
