// A time zone of the system's tz database (/usr/share/zoneinfo, Debian's tzdata), read from its
// TZif file, so wall-clock times can be converted without touching the process-wide TZ (which
// localtime/mktime would need, and which is not thread-safe to change).
//
// Contract: find() loads a zone once and keeps it; "UTC" needs no file. A wall-clock time in a
// DST gap maps to the instant after the gap; an ambiguous one (the hour repeated in autumn) to
// the earlier instant. After the file's last transition the last offset holds (Debian ships
// "fat" files with transitions listed to 2037).
// Threading: find() and the const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace skynet {

class TimeZone {
 public:
  // The zone `name` (e.g. "Europe/Zurich"); throws std::runtime_error naming it when unknown.
  static std::shared_ptr<const TimeZone> find(const std::string& name);

  const std::string& name() const { return name_; }
  // Seconds east of UTC at the instant `utc` (epoch seconds).
  int offsetAt(std::int64_t utc) const;
  // The instant of a wall-clock time given as epoch seconds "as if it were UTC" (timegm()).
  std::int64_t toUtc(std::int64_t wallClock) const;

 private:
  std::string name_;
  std::vector<std::int64_t> transitions_;  // ascending UTC instants
  std::vector<int> offsets_;               // the offset from each transition on
  int initialOffset_ = 0;                  // before the first transition
};

}  // namespace skynet
