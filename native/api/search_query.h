// lackey's search syntax (its UI's VisualSearch box): `category: value` pairs plus free text,
// e.g. `project: "proj 1" state: running state: failed nightly`. A value is one word or a
// quoted string ("..." or '...', backslash escapes the quote). Values of one category are
// OR-ed, categories are AND-ed, and the remaining words form one free-text phrase.
// Pure, thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace skynet::api {

struct SearchQuery {
  std::map<std::string, std::vector<std::string>> categories;  // lower-case name -> values
  std::string text;                                             // "" when none
};

struct SearchParse {
  std::optional<SearchQuery> query;
  std::string error;  // names the category or the quote that is wrong
};

// At most this many values in one category (the SQL has a fixed number of slots).
constexpr std::size_t kMaxSearchValues = 8;

// `allowed` lists the categories this listing knows; any other is an error.
SearchParse parseSearch(const std::string& text, const std::set<std::string>& allowed);

}  // namespace skynet::api
