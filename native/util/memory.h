// The daemon's use of glibc's allocator, in one place: how it is set up at start, and giving the
// memory it kept after it was freed back to the system.
//
// glibc keeps what a thread frees in that thread's malloc arena for its next allocations and
// returns an arena's pages only from its top. After a backlog drains, the daemon's copy of the
// queue (up to QueueMirror::kCapacity tasks, about 1.7 MB) is freed but stays resident, and the
// daemon's RSS stays at its highest point until the next backlog reuses it. releaseFreedMemory()
// hands the free pages of every arena back (malloc_trim(0), glibc's; Poco has no such call).
// It walks the arenas' free lists, so it is made once per drained backlog, not every turn.
//
// Thread-safe: glibc locks each arena in turn; another thread's malloc waits meanwhile.
#pragma once

#include <cstddef>

namespace skynet {

// Called first thing in main(), before any thread starts. glibc raises its mmap threshold each
// time a large block is freed, so later large buffers (a queue read's rows, a run's output tail)
// come from the heap, whose freed pages stay resident: the RSS of the long-running daemon then
// creeps up in steps of a few hundred KiB. A fixed threshold keeps every block of 128 KiB or more
// in a mapping of its own, unmapped when freed, and trims the heap's free top beyond 128 KiB.
void configureAllocator();

// The process's anonymous resident memory in KiB (RssAnon in /proc/self/status), -1 if unknown.
long residentAnonKiB();

// What the program holds allocated from malloc, in every arena, in KiB: flat over many tasks
// where the RSS after a release is not (a block still in use keeps its page resident).
std::size_t heapInUseKiB();

// Returns the whole free pages of every malloc arena to the system; true if any were returned.
bool releaseFreedMemory();

}  // namespace skynet
