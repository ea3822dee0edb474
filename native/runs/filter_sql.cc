#include "runs/filter_sql.h"

#include <stdexcept>

namespace skynet::runs {

namespace {

db::Value flag(bool absent) { return db::Value(static_cast<std::int64_t>(absent ? 1 : 0)); }

// LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally.
std::string containsPattern(const std::string& text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + "%";
}

}  // namespace

std::string filterClauses(const std::vector<FilterColumn>& columns, const std::vector<const char*>& textColumns) {
  std::string sql;
  for (const auto& column : columns) {
    sql += std::string(" AND (? = 1 OR ") + column.column + " IN (";
    for (std::size_t i = 0; i < kFilterSlots; ++i) sql += i ? ", ?" : "?";
    sql += "))";
  }
  sql += " AND (? = 1";
  for (const char* column : textColumns) sql += std::string(" OR ") + column + " LIKE ?";
  return sql + ") ";
}

std::vector<db::Value> filterParams(const std::vector<FilterColumn>& columns,
                                    const std::vector<const char*>& textColumns,
                                    const std::map<std::string, std::vector<std::string>>& categories,
                                    const std::string& text) {
  for (const auto& [name, values] : categories) {
    bool known = false;
    for (const auto& column : columns) known = known || name == column.category;
    if (!known) throw std::invalid_argument("unknown category \"" + name + "\"");
    if (values.size() > kFilterSlots) {
      throw std::invalid_argument("at most " + std::to_string(kFilterSlots) + " values of \"" + name + "\"");
    }
  }
  std::vector<db::Value> params;
  for (const auto& column : columns) {
    const auto found = categories.find(column.category);
    const bool absent = found == categories.end() || found->second.empty();
    params.push_back(flag(absent));
    for (std::size_t i = 0; i < kFilterSlots; ++i) {
      if (!absent && i < found->second.size()) params.emplace_back(found->second[i]);
      else params.emplace_back(nullptr);
    }
  }
  params.push_back(flag(text.empty()));
  const std::string pattern = containsPattern(text);
  for (std::size_t i = 0; i < textColumns.size(); ++i) params.emplace_back(pattern);
  return params;
}

}  // namespace skynet::runs
