// The SQL of a listing's filters, shared by the run store and the catalog: one fixed text per
// listing whatever the filter, so each connection prepares it once (a text per combination of
// categories would grow the prepared-statement cache without bound). Each category becomes
// `(? = 1 OR <column> IN (?, ... kFilterSlots))`: the first slot says "absent", unused
// value slots are bound to NULL, which never matches. Free text is one LIKE per text column.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet::runs {

constexpr std::size_t kFilterSlots = 8;

struct FilterColumn {
  const char* category;  // as written in a search, e.g. "project_id"
  const char* column;    // the SQL expression it matches, e.g. "a.project_id"
};

// " AND (...) AND (...)" for `columns`, then free text over `textColumns`.
std::string filterClauses(const std::vector<FilterColumn>& columns, const std::vector<const char*>& textColumns);

// The parameters of filterClauses(), in order. Throws std::invalid_argument naming a category
// not in `columns` or one with more than kFilterSlots values.
std::vector<db::Value> filterParams(const std::vector<FilterColumn>& columns,
                                    const std::vector<const char*>& textColumns,
                                    const std::map<std::string, std::vector<std::string>>& categories,
                                    const std::string& text);

}  // namespace skynet::runs
