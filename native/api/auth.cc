#include "api/auth.h"

#include <cctype>

namespace skynet::api {

bool constantTimeEquals(const std::string& given, const std::string& expected) {
  // Every byte of `given` is compared with a byte of `expected` (cycled), and a length
  // difference fails the comparison at the end, not early.
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  if (expected.empty()) return false;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return difference == 0;
}

std::string bearerCredential(const std::string& authorization) {
  std::size_t i = 0;
  while (i < authorization.size() && authorization[i] == ' ') ++i;
  static const std::string scheme = "bearer";
  if (authorization.size() < i + scheme.size() + 1) return "";
  for (std::size_t k = 0; k < scheme.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(authorization[i + k])) != scheme[k]) return "";
  }
  i += scheme.size();
  if (authorization[i] != ' ') return "";
  while (i < authorization.size() && authorization[i] == ' ') ++i;
  std::size_t end = authorization.size();
  while (end > i && authorization[end - 1] == ' ') --end;
  return authorization.substr(i, end - i);
}

AdminCheck checkAdmin(const std::string& authorization, const std::string& adminKey) {
  if (adminKey.empty()) return AdminCheck::Disabled;
  const std::string given = bearerCredential(authorization);
  if (given.empty()) return AdminCheck::Missing;
  return constantTimeEquals(given, adminKey) ? AdminCheck::Granted : AdminCheck::Wrong;
}

}  // namespace skynet::api
