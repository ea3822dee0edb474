#include "api/search_query.h"

#include <cctype>

namespace skynet::api {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string joinAllowed(const std::set<std::string>& allowed) {
  std::string out;
  for (const auto& name : allowed) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

SearchParse parseSearch(const std::string& text, const std::set<std::string>& allowed) {
  SearchQuery query;
  std::size_t i = 0;
  const std::size_t n = text.size();

  // Reads a quoted or bare value at i; false on an unclosed quote.
  const auto readValue = [&](std::string& value) {
    value.clear();
    if (i < n && (text[i] == '"' || text[i] == '\'')) {
      const char quote = text[i++];
      while (i < n && text[i] != quote) {
        if (text[i] == '\\' && i + 1 < n) ++i;
        value += text[i++];
      }
      if (i >= n) return false;
      ++i;  // the closing quote
      return true;
    }
    while (i < n && !isSpace(text[i])) value += text[i++];
    return true;
  };

  while (i < n) {
    while (i < n && isSpace(text[i])) ++i;
    if (i >= n) break;
    // `name:` starts a pair; anything else is free text.
    std::size_t end = i;
    while (end < n && isNameChar(text[end])) ++end;
    if (end > i && end < n && text[end] == ':') {
      std::string name = text.substr(i, end - i);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!allowed.count(name)) {
        return {std::nullopt, "q: unknown category \"" + name + "\" (known: " + joinAllowed(allowed) + ")"};
      }
      i = end + 1;
      while (i < n && isSpace(text[i])) ++i;
      std::string value;
      if (!readValue(value)) return {std::nullopt, "q: unclosed quote in the value of \"" + name + "\""};
      auto& values = query.categories[name];
      if (values.size() >= kMaxSearchValues) {
        return {std::nullopt, "q: at most " + std::to_string(kMaxSearchValues) + " values of \"" + name + "\""};
      }
      values.push_back(value);
      continue;
    }
    std::string word;
    if (!readValue(word)) return {std::nullopt, "q: unclosed quote in the free text"};
    if (word.empty()) continue;
    query.text += (query.text.empty() ? "" : " ") + word;
  }
  return {query, ""};
}

}  // namespace skynet::api
