#include "util/time_zone.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

namespace skynet {

namespace {

std::int64_t bigEndian(const std::string& data, std::size_t at, int bytes) {
  if (at + static_cast<std::size_t>(bytes) > data.size()) throw std::runtime_error("truncated");
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(data[at + static_cast<std::size_t>(i)]);
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
  return static_cast<std::int64_t>(value);
}

struct Counts {
  std::int64_t isut, isstd, leap, time, type, chars;
};

Counts readCounts(const std::string& data, std::size_t at) {
  if (data.compare(at, 4, "TZif") != 0) throw std::runtime_error("not a TZif file");
  return {bigEndian(data, at + 20, 4), bigEndian(data, at + 24, 4), bigEndian(data, at + 28, 4),
          bigEndian(data, at + 32, 4), bigEndian(data, at + 36, 4), bigEndian(data, at + 40, 4)};
}

std::size_t blockSize(const Counts& c, int timeBytes) {
  return static_cast<std::size_t>(c.time * timeBytes + c.time + c.type * 6 + c.chars + c.leap * (timeBytes + 4) +
                                  c.isstd + c.isut);
}

bool wellFormedName(const std::string& name) {
  return !name.empty() && name[0] != '/' && name.find("..") == std::string::npos &&
         name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") ==
             std::string::npos;
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::find(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TimeZone>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto found = loaded.find(name); found != loaded.end()) return found->second;

  auto zone = std::make_shared<TimeZone>();
  zone->name_ = name;
  if (name != "UTC") {
    if (!wellFormedName(name)) throw std::runtime_error("unknown time zone \"" + name + "\"");
    std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
    if (!in) throw std::runtime_error("unknown time zone \"" + name + "\" (no /usr/share/zoneinfo/" + name + ")");
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      Counts counts = readCounts(data, 0);
      std::size_t at = 44;
      int timeBytes = 4;
      if (data.size() > 4 && data[4] >= '2') {  // version 2+: skip the 32-bit block, read the 64-bit one
        at += blockSize(counts, 4);
        counts = readCounts(data, at);
        at += 44;
        timeBytes = 8;
      }
      std::vector<std::int64_t> times;
      for (std::int64_t i = 0; i < counts.time; ++i) times.push_back(bigEndian(data, at + static_cast<std::size_t>(i * timeBytes), timeBytes));
      at += static_cast<std::size_t>(counts.time * timeBytes);
      std::vector<int> typeOf;
      for (std::int64_t i = 0; i < counts.time; ++i) typeOf.push_back(static_cast<unsigned char>(data.at(at + static_cast<std::size_t>(i))));
      at += static_cast<std::size_t>(counts.time);
      std::vector<int> typeOffsets;
      for (std::int64_t i = 0; i < counts.type; ++i) typeOffsets.push_back(static_cast<int>(bigEndian(data, at + static_cast<std::size_t>(i * 6), 4)));
      if (typeOffsets.empty()) throw std::runtime_error("no local time types");
      zone->initialOffset_ = typeOffsets[0];
      for (std::size_t i = 0; i < times.size(); ++i) {
        if (static_cast<std::size_t>(typeOf[i]) >= typeOffsets.size()) throw std::runtime_error("bad type index");
        zone->transitions_.push_back(times[i]);
        zone->offsets_.push_back(typeOffsets[static_cast<std::size_t>(typeOf[i])]);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot read time zone \"" + name + "\": " + e.what());
    }
  }
  loaded[name] = zone;
  return zone;
}

int TimeZone::offsetAt(std::int64_t utc) const {
  const auto after = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
  if (after == transitions_.begin()) return initialOffset_;
  return offsets_[static_cast<std::size_t>(after - transitions_.begin() - 1)];
}

std::int64_t TimeZone::toUtc(std::int64_t wallClock) const {
  // Offsets in force within a day either side cover every wall-clock reading of that time.
  const std::set<int> offsets = {offsetAt(wallClock - 86400), offsetAt(wallClock), offsetAt(wallClock + 86400)};
  std::int64_t best = 0;
  bool found = false;
  for (int offset : offsets) {
    const std::int64_t candidate = wallClock - offset;
    if (offsetAt(candidate) == offset && (!found || candidate < best)) {
      best = candidate;
      found = true;
    }
  }
  if (found) return best;
  // A gap (clocks jumped forward): read it with the offset before the jump, which lands after it.
  return wallClock - offsetAt(wallClock - 86400);
}

}  // namespace skynet
